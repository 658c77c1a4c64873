-- Sessions: ':Runbridge session other' makes 'other' current (a separate kernel, its own output
-- buffer, status() shows it); restart loses variables; upload puts a file in the work folder
-- where a run can read it; download brings a file back.
local T = ...

T.setup()

local has_line = T.has_line

local daemon_sessions = T.daemon_sessions

local function run_code(lines, name)
  T.scratch(lines)
  return T.run_wait(function()
    T.rb().run_file()
  end, name or T.rb().current_session(), 30000)
end

T.test(':Runbridge session other switches the current session; runs go to its own kernel and buffer', function()
  T.eq('default', T.rb().current_session(), 'initial session')
  local f0 = run_code({ "who = 'default-' + 'kernel'", "print('set', who)" }, 'default')
  T.ok(f0:find('^✓'), f0)
  T.ok(T.rb().status():find('^runbridge: default'), 'status names default: ' .. T.rb().status())

  vim.cmd('Runbridge session other')
  T.wait_for(function()
    return T.rb().current_session() == 'other'
  end, 30000, "current_session() == 'other'")
  T.wait_for(function()
    return T.rb().status():find('^runbridge: other')
  end, 30000, 'status() to name other', function()
    return T.rb().status()
  end)

  local f1, new = run_code({ "print('who' in globals(), 'in-' + 'other')" }, 'other')
  T.ok(f1:find('^✓'), f1)
  T.ok(has_line(new, 'False in-other'), "a separate kernel without 'who':\n" .. new)
  local other_buf = T.out_buf('other')
  T.contains(vim.api.nvim_buf_get_name(other_buf), 'runbridge://output/other', 'output buffer name')
  T.ok(other_buf ~= T.out_buf('default'), 'one output buffer per session')
  T.not_contains(T.out_text('default'), 'in-other', "the run did not go to default's buffer")
  T.contains(new, '── In [other] ', 'header names the session')

  -- The run's reply and the session's 'idle' notification may arrive in either order.
  T.wait_for(function()
    return T.rb().status():find('^runbridge: other %(local%) idle$')
  end, 5000, 'status() "runbridge: other (local) idle"', function()
    return T.rb().status()
  end)

  local sessions = daemon_sessions()
  T.ok(sessions.default and sessions.other, 'the daemon has both sessions: ' .. vim.inspect(vim.tbl_keys(sessions)))

  vim.cmd('Runbridge session default')
  T.wait_for(function()
    return T.rb().current_session() == 'default'
  end, 10000, "back to 'default'")
  local f2, new2 = run_code({ 'print(who)' }, 'default')
  T.ok(f2:find('^✓'), f2)
  T.ok(has_line(new2, 'default-kernel'), 'default kept its variables:\n' .. new2)
end)

T.test(':Runbridge restart replaces the kernel: variables are lost, the session stays', function()
  local f0 = run_code({ 'doomed = 1', "print('doomed' in globals())" }, 'default')
  T.ok(f0:find('^✓'), f0)

  local seen = {}
  local timer = vim.uv.new_timer()
  timer:start(0, 20, vim.schedule_wrap(function()
    local s = T.rb().status()
    if seen[#seen] ~= s then
      seen[#seen + 1] = s
    end
  end))
  vim.cmd('Runbridge restart')
  local ok, err = pcall(T.wait_for, function()
    local saw_starting = false
    for _, s in ipairs(seen) do
      saw_starting = saw_starting or s:find('starting', 1, true) ~= nil
    end
    return saw_starting and seen[#seen]:find(' idle$')
  end, 30000, "status() to go through 'starting' back to 'idle'", function()
    return vim.inspect(seen)
  end)
  timer:stop()
  timer:close()
  T.ok(ok, err)
  T.log('status during restart:', seen)

  local f1, new = run_code({ "print('doomed' in globals(), 'after-' + 'restart')" }, 'default')
  T.ok(f1:find('^✓'), f1)
  T.ok(has_line(new, 'False after-restart'), 'variables were lost:\n' .. new)
  T.eq('default', T.rb().current_session())
end)

T.test('upload puts files in the work folder (dest too); a run reads them; download brings one back', function()
  local src = T.tmp .. '/upload-src.txt'
  T.write_file(src, 'uploaded-content-123\n')
  local workdir = daemon_sessions().default.workdir
  T.ok(workdir and workdir ~= '', 'the session has a workdir')

  T.rb().upload({ src })
  T.wait_for(function()
    return T.read_file(workdir .. '/upload-src.txt')
  end, 10000, 'upload-src.txt in the work folder ' .. workdir)
  T.rb().upload({ src }, 'inbox')
  T.wait_for(function()
    return T.read_file(workdir .. '/inbox/upload-src.txt')
  end, 10000, 'inbox/upload-src.txt in the work folder')

  local f1, new = run_code({
    "a = open('upload-src.txt').read().strip()",
    "b = open('inbox/upload-src.txt').read().strip()",
    "print('read', a, a == b)",
    "open('made-by-kernel.txt', 'w').write('from-' + 'kernel')",
  }, 'default')
  T.ok(f1:find('^✓'), f1 .. '\n' .. new)
  T.ok(has_line(new, 'read uploaded-content-123 True'), 'the run read the uploaded files:\n' .. new)

  local dest = T.tmp .. '/downloads'
  vim.fn.mkdir(dest, 'p')
  T.rb().download({ 'made-by-kernel.txt' }, dest)
  local got = T.wait_for(function()
    return T.read_file(dest .. '/made-by-kernel.txt')
  end, 10000, 'made-by-kernel.txt downloaded to ' .. dest)
  T.eq('from-kernel', got)
end)
