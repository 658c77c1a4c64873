-- :Runbridge app on a Backend.AI session (the emulator; run by tests/neovim/test_neovim_apps.py,
-- which makes its profile the default): the picker lists the session's apps, the forward's URL is
-- printed, a page comes through it, an unknown app names the ones there are, app-close ends it
-- (its ids completed from the daemon's runbridge/listForwards); closing the session ends its
-- forwards, and app-close then finds none.
local T = ...

T.setup()

local uv = vim.uv or vim.loop

--- The reply to `GET path` on 127.0.0.1:port, read until `until_text` (nil: connection refused).
local function http_get(port, path, until_text)
  local tcp = uv.new_tcp()
  local got, refused = '', false
  tcp:connect('127.0.0.1', port, function(err)
    if err then
      refused = true
      return
    end
    tcp:write('GET ' .. path .. ' HTTP/1.1\r\nHost: x\r\n\r\n')
    tcp:read_start(function(_, chunk)
      if chunk then
        got = got .. chunk
      end
    end)
  end)
  vim.wait(15000, function()
    return refused or got:find(until_text, 1, true) ~= nil
  end, 20)
  tcp:close()
  return (not refused) and got or nil
end

T.test(':Runbridge app picks an app, prints its URL; a page comes through; app-close ends it', function()
  local seen = T.capture_notify()
  vim.cmd('Runbridge session nv-apps')
  T.wait_notified(seen, 'session nv-apps started', 30000, 'the Backend.AI session opens')
  local shown
  local orig_select = vim.ui.select
  vim.ui.select = function(items, opts, on_choice)
    shown = vim.tbl_map(opts.format_item, items)
    vim.schedule(function()
      on_choice(items[1])
    end)
  end
  local ok, err = pcall(function()
    vim.cmd('Runbridge app')
    T.wait_for(function()
      return #require('runbridge.apps').open_ids() == 1
    end, 30000, 'the forward opens')
  end)
  vim.ui.select = orig_select
  T.ok(ok, err)
  T.eq({ 'jupyter  http · port 8081', 'ttyd  tcp · port 7681' }, shown, 'the picker lists the apps as the daemon describes them')
  local url
  for _, n in ipairs(seen) do
    url = url or n.msg:match('app jupyter of session nv%-apps is at (http://127%.0%.0%.1:%d+/)')
  end
  T.ok(url, 'the URL is printed: ' .. vim.inspect(seen))
  local port = tonumber(url:match(':(%d+)/'))
  local page = http_get(port, '/jupyter/tree', '</html>')
  T.ok(page and page:find('<h1>nv-apps:jupyter</h1>', 1, true), 'the page: ' .. tostring(page))

  vim.cmd('Runbridge app nope')
  T.wait_notified(seen, "has no app 'nope' (its apps: jupyter, ttyd)", 15000, 'an unknown app names the apps there are')

  local ids = require('runbridge.apps').open_ids()
  T.eq(ids, vim.fn.getcompletion('Runbridge app-close ', 'cmdline'), 'app-close completes the open ids')
  vim.cmd('Runbridge app-close')
  T.wait_for(function()
    return #require('runbridge.apps').open_ids() == 0
  end, 15000, 'the forward closes')
  T.eq(nil, http_get(port, '/', '</html>'), 'nothing listens there any more')
end)

T.test('closing the session ends its forwards: app-close then finds none', function()
  local seen = T.capture_notify()
  require('runbridge.apps').open('jupyter', 'nv-apps')
  T.wait_for(function()
    return #require('runbridge.apps').open_ids() == 1
  end, 30000, 'the forward opens')
  vim.cmd('Runbridge close nv-apps')
  T.wait_notified(seen, 'session nv-apps closed', 30000, 'the session closes')
  T.eq({}, require('runbridge.apps').open_ids(), 'no forward is left')
  vim.cmd('Runbridge app-close')
  T.wait_notified(seen, 'no forward open for session nv-apps', 15000, 'app-close finds none')
end)
