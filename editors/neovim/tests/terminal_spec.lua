-- The remote terminal: ':Runbridge terminal' opens a terminal buffer named
-- runbridge://terminal/NAME; input given to the terminal reaches the session's shell (in the
-- session's work folder) and the shell's output comes back into the buffer.
--
-- How input is given: the contract's nvim_chan_send(vim.bo[buf].channel, ...) cannot work for a
-- buffer made by nvim_open_term: its 'channel' option is 0, and nvim_chan_send on that channel
-- writes to the terminal's screen (as output), it never calls on_input. Terminal mode ('i') can
-- not be entered from a `nvim -l` script either. A put into the terminal buffer (a paste, as a
-- user pastes with "p") goes through the terminal to the plugin's on_input, so the tests use
-- that. (The wrapper turns readline's bracketed paste off, or bash would not run pasted lines.)
local T = ...

--- Paste `text` into terminal buffer `buf` (reaches nvim_open_term's on_input).
local function type_into(buf, text)
  local win = vim.fn.bufwinid(buf)
  T.ok(win ~= -1, 'the terminal buffer is shown in a window')
  vim.api.nvim_win_call(win, function()
    vim.fn.setreg('z', text, 'c')
    vim.cmd('normal! "zp')
  end)
end

T.setup()

local function find_buf(pattern)
  for _, b in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_get_name(b):find(pattern, 1, true) then
      return b
    end
  end
end

local function has_line(buf, text)
  for _, line in ipairs(T.lines(buf)) do
    if vim.trim(line) == text then
      return true
    end
  end
  return false
end

T.test(':Runbridge terminal echoes a command through the remote shell', function()
  vim.cmd('Runbridge terminal')
  local buf = T.wait_for(function()
    return find_buf('runbridge://terminal/default')
  end, 30000, 'a buffer named runbridge://terminal/default')
  T.eq('terminal', vim.bo[buf].buftype, 'buftype')
  T.eq(buf, vim.api.nvim_get_current_buf(), 'the terminal split shows the buffer')
  -- Wait for the remote shell's prompt (anything besides the plugin's own "opening" line).
  T.wait_for(function()
    for _, line in ipairs(T.lines(buf)) do
      local l = vim.trim(line)
      if l ~= '' and not l:find('^runbridge: ') then
        return true
      end
    end
  end, 20000, 'the remote shell prompt', function()
    return T.text(buf)
  end)
  -- The command line echoes "echo rb-$((6*7))"; only the shell's answer has "rb-42" alone.
  type_into(buf, 'echo rb-$((6*7))\r')
  T.wait_for(function()
    return has_line(buf, 'rb-42')
  end, 10000, '"rb-42" from the remote shell', function()
    return T.text(buf)
  end)
  T.contains(T.text(buf), 'echo rb-$((6*7))', 'the typed command is echoed')
end)

T.test('keys typed before the remote shell is ready are kept and sent', function()
  local buf = require('runbridge').terminal('early')
  -- at once: the daemon has not answered openTerminal yet (it even opens the session first)
  type_into(buf, 'echo early-$((2*21))\r')
  T.wait_for(function()
    return has_line(buf, 'early-42')
  end, 30000, '"early-42" from a command typed before the shell was ready', function()
    return T.text(buf)
  end)
end)

T.test('the remote shell runs in the session work folder', function()
  local buf = find_buf('runbridge://terminal/default')
  local default = T.daemon_sessions().default
  local workdir = default and default.workdir
  T.ok(workdir, 'the default session is listed with its workdir')
  -- The path is longer than the terminal is wide: compare in the shell, print a short verdict.
  type_into(buf, ('[ "$(pwd -P)" = %q ] && echo cwd-ok-$((1+1)) || echo cwd-wrong\r'):format(vim.uv.fs_realpath(workdir)))
  T.wait_for(function()
    for _, line in ipairs(T.lines(buf)) do
      local l = vim.trim(line)
      if l == 'cwd-wrong' then
        error('the shell is not in the work folder:\n' .. T.text(buf))
      end
      if l == 'cwd-ok-2' then
        return true
      end
    end
  end, 10000, 'cwd-ok-2 (the shell runs in ' .. workdir .. ')', function()
    return T.text(buf)
  end)
end)

T.test('terminal(name) returns the buffer of the session terminal', function()
  local b = T.rb().terminal()
  T.ok(type(b) == 'number' and vim.api.nvim_buf_is_valid(b), 'terminal() returns a buffer: ' .. vim.inspect(b))
  T.contains(vim.api.nvim_buf_get_name(b), 'runbridge://terminal/default')
  T.eq('terminal', vim.bo[b].buftype)
end)
