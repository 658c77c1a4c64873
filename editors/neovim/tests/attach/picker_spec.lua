-- ':Runbridge sessions' lists what runs on the Jupyter server under "on the server" (the
-- daemon's label and description) and attaches on pick: a notebook's kernel started by the
-- test (tests/neovim/test_neovim_attach.py), its variables kept across a detach. Profile
-- `down` names a server that is not there: a warning names it, `jup` is listed all the same.
local T = ...

T.setup({ profile = 'jup' })

local kernel_id = assert(os.getenv('RB_TEST_KERNEL_ID'), 'RB_TEST_KERNEL_ID')

local orig_select, orig_input = vim.ui.select, vim.ui.input
local shown, offered = {}, {}
local answer -- what vim.ui.input answers (nil: the default it was offered)

vim.ui.select = function(items, opts, on_choice)
  local labels = {}
  for i, item in ipairs(items) do
    labels[i] = opts.format_item(item)
  end
  shown[#shown + 1] = labels
  vim.schedule(function()
    for i, label in ipairs(labels) do
      if label:find('work/nb.ipynb', 1, true) then
        return on_choice(items[i], i)
      end
    end
    on_choice(nil)
  end)
end
vim.ui.input = function(opts, cb)
  offered[#offered + 1] = opts.default
  vim.schedule(function()
    cb(answer or opts.default)
  end)
end

local function pick_notebook(expect_name)
  local before = #shown
  T.rb().sessions()
  T.wait_for(function()
    return #shown > before
  end, 10000, 'the picker')
  T.wait_for(function()
    return T.rb().current_session() == expect_name
  end, 30000, ('current session %q'):format(expect_name))
  return shown[#shown]
end

local function run(lines, name)
  T.scratch(lines)
  return T.run_wait(function()
    T.rb().run_file()
  end, name, 30000)
end

T.test('the picker lists the notebook kernel under "on the server" and attaches on pick', function()
  local notes = T.capture_notify()
  local labels = pick_notebook('nb')
  T.wait_notified(notes, 'on the server of profile down: ', 10000, 'a warning naming the profile that failed')
  local joined = table.concat(labels, '\n')
  T.contains(joined, '── on the server ──', 'the separator')
  T.contains(joined, 'work/nb.ipynb  python3 · ', 'label and description from the daemon')
  T.eq('nb', offered[1], 'the default name is the label made a name')
  local info = T.daemon_sessions().nb
  T.ok(info and info.attached == true and info.remoteId == kernel_id, vim.inspect(info))
  local footer = run({ 'x = 41' }, 'nb')
  T.ok(footer:find('^✓'), footer)
end)

T.test(':Runbridge close lets go of it; picking it again reattaches with its variables', function()
  local notes = T.capture_notify()
  vim.cmd('Runbridge close nb')
  T.wait_notified(notes, 'session nb detached (it keeps running on the server)', 10000, "the daemon's line about the detached session")
  T.wait_for(function()
    return T.daemon_sessions().nb == nil
  end, 10000, 'nb closed')
  local listed = T.request_sync('runbridge/listRemote', { profile = 'jup' })
  local still = false
  for _, entry in ipairs(listed.sessions) do
    still = still or (entry.id == kernel_id and type(entry.attachedAs) ~= 'string')
  end
  T.ok(still, 'the kernel still runs, attached to nothing: ' .. vim.inspect(listed))
  answer = 'nb2'
  pick_notebook('nb2')
  local footer, new = run({ 'print(x + 1)' }, 'nb2')
  T.ok(footer:find('^✓'), footer)
  T.ok(T.has_line(new, '42'), 'x kept across the detach:\n' .. new)
  vim.cmd('Runbridge destroy nb2')
  T.wait_for(function()
    for _, entry in ipairs(T.request_sync('runbridge/listRemote', { profile = 'jup' }).sessions) do
      if entry.id == kernel_id then
        return false
      end
    end
    return T.daemon_sessions().nb2 == nil
  end, 10000, 'nb2 closed and its kernel destroyed on the server')
  vim.ui.select, vim.ui.input = orig_select, orig_input
end)
