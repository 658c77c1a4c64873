-- The rest of the public API and the :Runbridge command: config validation, output.open =
-- 'never', completion, the sessions() picker (vim.ui.select stubbed), close(), run_batch(),
-- log().
local T = ...

local notes = T.capture_notify()

local has_line = T.has_line

local daemon_sessions = T.daemon_sessions

T.test('setup() validates options and the error names the key', function()
  local ok, err = pcall(T.rb().setup, { cmd = T.cmd, output_cap_mb = 'lots' })
  T.ok(not ok, 'output_cap_mb = "lots" is refused')
  T.contains(tostring(err), 'output_cap_mb')
  ok, err = pcall(T.rb().setup, { cmd = T.cmd, output = { open = 'sometimes' } })
  T.ok(not ok, 'output.open = "sometimes" is refused')
  T.contains(tostring(err), 'open')
  ok, err = pcall(T.rb().setup, { cmd = 'runbridge serve' })
  T.ok(not ok, 'cmd must be a list')
  T.contains(tostring(err), 'cmd')
  ok, err = pcall(T.rb().setup, { cmd = T.cmd, history = { runs = -1 } })
  T.ok(not ok, 'history.runs = -1 is refused')
  T.contains(tostring(err), 'history.runs')
  ok, err = pcall(T.rb().setup, { cmd = T.cmd, history = { bytes = 49 * 1024 * 1024 } })
  T.ok(not ok, 'history.bytes past the daemon bound (48 MiB) is refused')
  T.contains(tostring(err), 'history.bytes')
  ok, err = pcall(T.rb().setup, { cmd = T.cmd, standalone = 'yes' })
  T.ok(not ok, 'standalone must be a boolean')
  T.contains(tostring(err), 'standalone')
  ok, err = pcall(T.rb().setup, { cmd = T.cmd, cell_markers = { python = 42 } })
  T.ok(not ok, 'a cell marker must be a string')
  T.contains(tostring(err), 'cell_markers["python"]')
  ok, err = pcall(T.rb().setup, { cmd = T.cmd, languages = 'python' })
  T.ok(not ok, 'languages must be a list')
  T.contains(tostring(err), 'languages')
  -- markers are Python regular expressions, for the daemon: '(?i)' is no vim regex, and is accepted
  T.setup({ cell_markers = { python = [[(?i)^#\s*%%]] }, languages = { 'python' } })
  local init = require('runbridge.config').init_options()
  T.eq({ python = [[(?i)^#\s*%%]] }, init.cellMarkers, 'cellMarkers in initializationOptions')
  T.eq({ 'python' }, init.languages, 'languages in initializationOptions')
  T.setup()
  init = require('runbridge.config').init_options()
  T.eq(nil, init.cellMarkers, "no cellMarkers by default: the daemon's defaults apply")
  for _, ft in ipairs({ 'python', 'r', 'julia', 'javascript', 'typescript', 'sh', 'bash', 'lua' }) do
    T.ok(vim.tbl_contains(init.languages, ft), ft .. ' is synced by default')
  end
end)

T.test("output.open = 'never': a run writes its output buffer without opening a window", function()
  T.setup({ output = { open = 'never' } })
  local wins = #vim.api.nvim_tabpage_list_wins(0)
  T.scratch({ "print('quiet-' + 'run')" })
  local footer, new = T.run_wait(function()
    T.rb().run_line()
  end, 'default', 30000)
  T.ok(footer:find('^✓'), footer)
  T.ok(has_line(new, 'quiet-run'), new)
  T.eq(-1, vim.fn.bufwinid(T.out_buf('default')), 'no window shows the output buffer')
  T.eq(wins, #vim.api.nvim_tabpage_list_wins(0), 'no split was opened')

  T.setup({ output = { open = 'on_run' } })
  T.run_wait(function()
    T.rb().run_line()
  end)
  T.ok(vim.fn.bufwinid(T.out_buf('default')) ~= -1, "with 'on_run' the output window opens")
end)

T.test(':Runbridge completes its subcommands and session names', function()
  local subs = vim.fn.getcompletion('Runbridge ', 'cmdline')
  for _, want in ipairs({ 'session', 'sessions', 'interrupt', 'restart', 'close', 'terminal', 'output', 'cell' }) do
    T.ok(vim.tbl_contains(subs, want), ('%q among %s'):format(want, vim.inspect(subs)))
  end
  local names = vim.fn.getcompletion('Runbridge interrupt ', 'cmdline')
  T.ok(vim.tbl_contains(names, 'default'), 'session names complete: ' .. vim.inspect(names))
end)

T.test('sessions(): the vim.ui.select picker lists the daemon sessions and "new session…" opens one', function()
  local orig_select, orig_input = vim.ui.select, vim.ui.input
  local shown = {}
  local pick -- function(items, labels) -> item
  vim.ui.select = function(items, opts, on_choice)
    local labels = {}
    for i, item in ipairs(items) do
      labels[i] = opts and opts.format_item and opts.format_item(item) or tostring(item)
    end
    shown[#shown + 1] = labels
    vim.schedule(function()
      on_choice(pick(items, labels))
    end)
  end
  vim.ui.input = function(_, cb)
    vim.schedule(function()
      cb('picked')
    end)
  end
  local ok, err = pcall(function()
    pick = function(items, labels)
      for i, l in ipairs(labels) do
        if l:find('new session', 1, true) then
          return items[i]
        end
      end
    end
    T.rb().sessions()
    T.wait_for(function()
      return #shown == 1
    end, 5000, "the picker", function()
      return vim.inspect(notes)
    end)
    local joined = table.concat(shown[1], '\n')
    T.contains(joined, 'default', 'the open session is listed')
    T.wait_for(function()
      return T.rb().current_session() == 'picked'
    end, 30000, "the new session 'picked' to become current")
    T.wait_for(function()
      return daemon_sessions().picked
    end, 30000, "the daemon to have session 'picked'")

    pick = function(items, labels)
      for i, l in ipairs(labels) do
        if l:find('default', 1, true) then
          return items[i]
        end
      end
    end
    T.rb().sessions()
    T.wait_for(function()
      return #shown == 2
    end, 10000, 'the picker, again')
    T.contains(table.concat(shown[2], '\n'), 'picked', 'the new session is listed')
    T.wait_for(function()
      return T.rb().current_session() == 'default'
    end, 10000, "'default' to be current again")
  end)
  vim.ui.select, vim.ui.input = orig_select, orig_input
  T.ok(ok, err)
end)

T.test('close(name) closes the session in the daemon', function()
  if not daemon_sessions().picked then
    T.rb().session('picked')
    T.wait_for(function()
      return daemon_sessions().picked
    end, 30000, "session 'picked' open")
    T.rb().session('default')
  end
  T.rb().close('picked')
  T.wait_for(function()
    return daemon_sessions().picked == nil
  end, 10000, "'picked' gone from listSessions")
  T.ok(daemon_sessions().default, 'default is still open')
end)

T.test('run_batch({files, build, exec}) runs a shell command in the work folder, asking nothing', function()
  local asked = {}
  local orig_input = vim.ui.input
  vim.ui.input = function(opts, cb)
    asked[#asked + 1] = opts and opts.prompt
    cb(nil)
  end
  local ok, footer, new = pcall(T.run_wait, function()
    T.rb().run_batch({ files = {}, build = '', exec = 'echo batch-$((2+3)) && basename "$PWD"' })
  end)
  vim.ui.input = orig_input
  T.ok(ok, footer)
  T.eq({}, asked, 'nothing asked when files, build and exec are given')
  T.ok(footer:find('^✓'), footer .. '\n' .. new)
  T.ok(has_line(new, 'batch-5'), 'the command ran in a shell:\n' .. new)
  T.ok(has_line(new, 'default'), 'in the session work folder (…/sessions/default):\n' .. new)
end)

T.test('log() opens the daemon log named by the initialize result', function()
  T.rb().log()
  local buf = T.wait_for(function()
    local b = vim.api.nvim_get_current_buf()
    return vim.api.nvim_buf_get_name(b):find('daemon%.log$') and b
  end, 10000, 'the daemon log buffer', function()
    return vim.api.nvim_buf_get_name(0)
  end)
  local name = vim.api.nvim_buf_get_name(buf)
  local logdir = os.getenv('RUNBRIDGE_LOG_DIR')
  if logdir then
    T.eq(vim.uv.fs_realpath(logdir .. '/daemon.log'), vim.uv.fs_realpath(name), 'the isolated log folder')
  end
  local first = vim.api.nvim_buf_get_lines(buf, 0, 1, false)[1] or ''
  T.contains(first, 'runbridge daemon starting', 'the log file is loaded')
end)
