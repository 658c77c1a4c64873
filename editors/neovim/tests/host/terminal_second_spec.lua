-- Neovim #2 of the terminal reattach test: :Runbridge terminal offers the running terminal,
-- reattaching replays its earlier output and keys reach the same shell; wiping the buffer closes
-- the shell (runbridge/closeTerminal); then the host is stopped.
local T = ...

T.setup()

T.test(':Runbridge terminal offers the running terminal; reattaching shows its earlier output', function()
  local labels
  local orig = vim.ui.select
  vim.ui.select = function(items, opts, on_choice)
    labels = {}
    for i, item in ipairs(items) do
      labels[i] = opts.format_item(item)
    end
    vim.schedule(function()
      on_choice(items[1])
    end)
  end
  vim.cmd('Runbridge terminal')
  T.wait_for(function()
    return labels
  end, 60000, 'the terminal picker')
  vim.ui.select = orig
  T.eq(2, #labels, 'one running terminal and "new terminal": ' .. vim.inspect(labels))
  T.ok(labels[1]:find('^reattach terminal %S+ %(no client attached%)$'), labels[1])
  T.eq('new terminal', labels[2])

  local buf = T.wait_for(function()
    local b = vim.fn.bufnr('runbridge://terminal/default')
    return b ~= -1 and b
  end, 10000, 'the terminal buffer')
  T.wait_for(function()
    return T.has_line(T.text(buf), 'before-42')
  end, 20000, 'the earlier output replayed', function()
    return T.text(buf)
  end)
  local win = vim.fn.bufwinid(buf)
  vim.api.nvim_win_call(win, function()
    vim.fn.setreg('z', 'echo after-$((7*7))\r', 'c')
    vim.cmd('normal! "zp')
  end)
  T.wait_for(function()
    return T.has_line(T.text(buf), 'after-49')
  end, 20000, '"after-49" from the same shell', function()
    return T.text(buf)
  end)
  local listed = T.request_sync('runbridge/listTerminals').terminals
  T.eq(1, #listed, 'one terminal in the host: ' .. vim.inspect(listed))
  T.eq(1, listed[1].attached, 'this Neovim is attached')

  vim.api.nvim_buf_delete(buf, { force = true })
  T.wait_for(function()
    return #T.request_sync('runbridge/listTerminals').terminals == 0
  end, 10000, 'wiping the buffer to close the shell')
end)

T.test('with no terminal running, :Runbridge terminal opens a new one at once', function()
  local asked = false
  local orig = vim.ui.select
  vim.ui.select = function(...)
    asked = true
    return orig(...)
  end
  vim.cmd('Runbridge terminal')
  local buf = T.wait_for(function()
    local b = vim.fn.bufnr('runbridge://terminal/default')
    return b ~= -1 and require('runbridge.terminal').id_of(b) and b
  end, 30000, 'a new terminal')
  vim.ui.select = orig
  T.ok(not asked, 'no picker')
  vim.api.nvim_buf_delete(buf, { force = true })
end)

T.test(':Runbridge stop stops the session host', function()
  local c = T.rb().client()
  vim.cmd('Runbridge stop')
  T.wait_for(function()
    return c:is_stopped()
  end, 20000, 'the client to stop after runbridge/stopDaemon')
end)
