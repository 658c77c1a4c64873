-- Headless test runner for the runbridge Neovim plugin (nvim-dap style: no busted, no lazy.nvim).
--
--   nvim --headless --clean -u NONE -l editors/neovim/tests/run.lua editors/neovim/tests/run_spec.lua
--
-- The plugin folder (the parent of this tests/ folder) is put on the runtimepath and its plugin/
-- file is sourced, as a plugin manager would. Tests talk to the real daemon (local backend, real
-- Jupyter kernels). Environment (set by tests/neovim/test_neovim.py; defaults for manual runs):
--   RB_TEST_CMD      JSON list: the daemon command (default {"runbridge", "serve"})
--   RB_TEST_TMP      a scratch folder for the spec (default: a fresh tempname())
--   RB_TEST_VERSION  the runbridge version the daemon should report (optional)
--
-- A spec file is Lua run with the test object `T` as its argument (`local T = ...`); it
-- registers tests with T.test(name, fn). They run in order, in one Neovim and one daemon, each
-- fn synchronously: asynchronous plugin work is waited for with T.wait_for (vim.wait). The exit
-- status is 0 only when every test passed; quitting goes through :qall/:cquit so VimLeavePre
-- (and Neovim's own LSP shutdown) runs as it does for a user.

local T = {}

local uv = vim.uv or vim.loop
local script = debug.getinfo(1, 'S').source:sub(2)
T.tests_dir = vim.fn.fnamemodify(script, ':p:h')
T.root = vim.fn.fnamemodify(T.tests_dir, ':h')

T.tmp = os.getenv('RB_TEST_TMP')
if not T.tmp or T.tmp == '' then
  T.tmp = vim.fn.tempname()
end
vim.fn.mkdir(T.tmp, 'p')

local cmd_json = os.getenv('RB_TEST_CMD')
T.cmd = (cmd_json and cmd_json ~= '') and vim.json.decode(cmd_json) or { 'runbridge', 'serve' }
T.version = os.getenv('RB_TEST_VERSION')

---------------------------------------------------------------------------------------------------
-- output

local function out(s)
  io.stdout:write(s .. '\n')
  io.stdout:flush()
end
T.log = function(...)
  local parts = {}
  for i = 1, select('#', ...) do
    local v = select(i, ...)
    parts[#parts + 1] = type(v) == 'string' and v or vim.inspect(v)
  end
  out('    ' .. table.concat(parts, ' '))
end

---------------------------------------------------------------------------------------------------
-- asserts

local function fail(msg, level)
  error(msg, (level or 1) + 1)
end

function T.ok(cond, msg)
  if not cond then
    fail('assertion failed: ' .. (msg or '?'), 2)
  end
  return cond
end

function T.eq(expected, actual, msg)
  if not vim.deep_equal(expected, actual) then
    fail(('%sexpected %s, got %s'):format(msg and (msg .. ': ') or '', vim.inspect(expected), vim.inspect(actual)), 2)
  end
end

--- `haystack` contains `needle` (plain find).
function T.contains(haystack, needle, msg)
  if type(haystack) ~= 'string' or not haystack:find(needle, 1, true) then
    fail(('%sexpected to find %s in:\n%s'):format(msg and (msg .. ': ') or '', vim.inspect(needle), tostring(haystack)), 2)
  end
end

function T.not_contains(haystack, needle, msg)
  if type(haystack) == 'string' and haystack:find(needle, 1, true) then
    fail(('%sdid not expect %s in:\n%s'):format(msg and (msg .. ': ') or '', vim.inspect(needle), haystack), 2)
  end
end

--- Wait (processing events) until fn() returns a truthy value; return it, or fail naming `what`.
--- `detail` (a function) adds context to the failure message.
function T.wait_for(fn, timeout_ms, what, detail)
  local result
  local done = vim.wait(timeout_ms or 10000, function()
    local ok, v = pcall(fn)
    if ok and v then
      result = v
      return true
    end
    return false
  end, 20)
  if not done then
    local extra = ''
    if detail then
      local ok, d = pcall(detail)
      extra = '\n' .. (ok and tostring(d) or ('(detail failed: ' .. tostring(d) .. ')'))
    end
    fail(('timed out after %d ms waiting for %s%s'):format(timeout_ms or 10000, what or '?', extra), 2)
  end
  return result
end

---------------------------------------------------------------------------------------------------
-- plugin helpers

--- require('runbridge').setup with the daemon command and scratch folders of this test run.
function T.setup(extra)
  local opts = vim.tbl_deep_extend('force', {
    cmd = T.cmd,
    media = { dir = T.tmp .. '/media' },
  }, extra or {})
  require('runbridge').setup(opts)
  return opts
end

function T.rb()
  return require('runbridge')
end

--- A synchronous request to the daemon through the plugin's LSP client (0.10 and 0.11 APIs).
--- Returns the result; fails the test on an error response or timeout.
function T.request_sync(method, params, timeout_ms)
  local client = T.rb().client()
  T.ok(client, 'require("runbridge").client() returns the client')
  local resp, err
  if vim.fn.has('nvim-0.11') == 1 then
    resp, err = client:request_sync(method, params or vim.empty_dict(), timeout_ms or 10000)
  else
    resp, err = client.request_sync(method, params or vim.empty_dict(), timeout_ms or 10000)
  end
  if not resp or resp.err or resp.result == nil then
    fail(('%s failed: %s %s'):format(method, vim.inspect(resp), tostring(err)), 2)
  end
  return resp.result
end

--- The daemon's open sessions by name (runbridge/listSessions).
function T.daemon_sessions()
  local by_name = {}
  for _, s in ipairs(T.request_sync('runbridge/listSessions').sessions) do
    by_name[s.name] = s
  end
  return by_name
end

--- Lines of a buffer, trailing blank lines (the empty rows of a terminal) dropped.
--- Whether some line of `chunk` (text with newlines) is `text` once trimmed.
function T.has_line(chunk, text)
  for line in (chunk .. '\n'):gmatch('(.-)\n') do
    if vim.trim(line) == text then
      return true
    end
  end
  return false
end

function T.lines(buf)
  if not buf or not vim.api.nvim_buf_is_valid(buf) then
    return {}
  end
  local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
  while #lines > 0 and vim.trim(lines[#lines]) == '' do
    lines[#lines] = nil
  end
  return lines
end

function T.text(buf)
  return table.concat(T.lines(buf), '\n')
end

--- The output buffer of session `name` (nil until it exists).
function T.out_buf(name)
  return T.rb().output_buf(name or 'default')
end

function T.out_text(name)
  return T.text(T.out_buf(name))
end

local FOOTERS = { '^✓ finished in ', '^✗ ', '^■ interrupted', '^⏱ timed out' }

--- Footer lines ("✓ finished in 12 ms", "✗ ...", "■ interrupted ...") in session `name`'s output.
function T.footers(name)
  local found = {}
  for _, line in ipairs(T.lines(T.out_buf(name))) do
    local l = vim.trim(line)
    for _, pat in ipairs(FOOTERS) do
      if l:find(pat) then
        found[#found + 1] = l
        break
      end
    end
  end
  return found
end

--- Start a run with `start()` and wait for its footer in session `name`'s output.
--- Returns the footer line and the output text written by this run (from its header on).
function T.run_wait(start, name, timeout_ms)
  name = name or 'default'
  local before = #T.footers(name)
  local lines_before = #T.lines(T.out_buf(name))
  start()
  T.wait_for(function()
    return #T.footers(name) > before
  end, timeout_ms or 20000, ('the footer of a run in session %q'):format(name), function()
    return ('output buffer of %q:\n%s'):format(name, T.out_text(name))
  end)
  local footers = T.footers(name)
  local lines = T.lines(T.out_buf(name))
  local new = {}
  for i = lines_before + 1, #lines do
    new[#new + 1] = lines[i]
  end
  return footers[before + 1], table.concat(new, '\n')
end

--- Wait until session `name`'s output contains `needle`.
function T.wait_output(needle, name, timeout_ms)
  return T.wait_for(function()
    return T.out_text(name):find(needle, 1, true)
  end, timeout_ms or 20000, ('%q in the output of session %q'):format(needle, name or 'default'), function()
    return 'output buffer:\n' .. T.out_text(name)
  end)
end

--- A new scratch buffer with `lines` (filetype python by default), shown in the current window.
function T.scratch(lines, ft)
  -- Start from an editing window, not the output or terminal split the plugin opened.
  for _, win in ipairs(vim.api.nvim_tabpage_list_wins(0)) do
    local b = vim.api.nvim_win_get_buf(win)
    if vim.api.nvim_win_get_config(win).relative == '' and vim.bo[b].buftype ~= 'terminal' then
      vim.api.nvim_set_current_win(win)
      break
    end
  end
  vim.cmd('enew')
  local buf = vim.api.nvim_get_current_buf()
  vim.bo[buf].buftype = 'nofile'
  vim.bo[buf].swapfile = false
  vim.bo[buf].filetype = ft or 'python'
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  return buf
end

--- Status extmarks (namespace 'runbridge_status') of `buf`: list of {row=, text=}.
function T.status_marks(buf)
  local ns = vim.api.nvim_get_namespaces()['runbridge_status']
  if not ns then
    return {}
  end
  local marks = {}
  for _, m in ipairs(vim.api.nvim_buf_get_extmarks(buf, ns, 0, -1, { details = true })) do
    local text = {}
    for _, chunk in ipairs(m[4].virt_text or {}) do
      text[#text + 1] = chunk[1]
    end
    for _, vline in ipairs(m[4].virt_lines or {}) do
      for _, chunk in ipairs(vline) do
        text[#text + 1] = chunk[1]
      end
    end
    marks[#marks + 1] = { row = m[2], col = m[3], text = table.concat(text) }
  end
  return marks
end

--- Status text at 0-based `row` of `buf` (all marks on that row joined), or ''.
function T.status_at(buf, row)
  local parts = {}
  for _, m in ipairs(T.status_marks(buf)) do
    if m.row == row then
      parts[#parts + 1] = m.text
    end
  end
  return table.concat(parts, ' | ')
end

--- Record vim.notify messages; returns the list (each {msg=, level=}).
function T.capture_notify()
  local seen = {}
  local orig = vim.notify
  vim.notify = function(msg, level, opts)
    seen[#seen + 1] = { msg = tostring(msg), level = level }
    return orig(msg, level, opts)
  end
  return seen
end

--- Waits until a notification captured by T.capture_notify() holds `text` (plain).
function T.wait_notified(seen, text, timeout, what)
  T.wait_for(function()
    for _, n in ipairs(seen) do
      if n.msg:find(text, 1, true) then
        return true
      end
    end
  end, timeout, what)
end

function T.read_file(path)
  local f = io.open(path, 'rb')
  if not f then
    return nil
  end
  local data = f:read('*a')
  f:close()
  return data
end

function T.write_file(path, data)
  local f = assert(io.open(path, 'wb'))
  f:write(data)
  f:close()
end

--- Milliseconds since an arbitrary point (monotonic).
function T.now()
  return uv.hrtime() / 1e6
end

---------------------------------------------------------------------------------------------------
-- registry and main

local tests = {}

function T.test(name, fn)
  tests[#tests + 1] = { name = name, fn = fn }
end

local function main(spec_paths)
  -- Headless, notifications would go to stderr without a line break; print them as log lines.
  -- (T.capture_notify wraps this one, so specs still see every message.)
  local level_names = { [0] = 'TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'OFF' }
  vim.notify = function(msg, level)
    out(('    notify[%s] %s'):format(level_names[level or 2] or tostring(level), tostring(msg)))
  end
  vim.opt.runtimepath:prepend(T.root)
  vim.opt.swapfile = false
  vim.opt.shadafile = 'NONE'
  vim.cmd('runtime! plugin/runbridge.lua')

  local failures, total = 0, 0
  local t_all = T.now()
  for _, spec in ipairs(spec_paths) do
    tests = {}
    local path = vim.fn.fnamemodify(spec, ':p')
    out('# spec ' .. vim.fn.fnamemodify(path, ':t'))
    local chunk, err = loadfile(path)
    if not chunk then
      out('FAIL loading ' .. spec .. ': ' .. tostring(err))
      failures = failures + 1
    else
      local ok, lerr = xpcall(chunk, debug.traceback, T)
      if not ok then
        out('FAIL loading ' .. spec .. ': ' .. tostring(lerr))
        failures = failures + 1
      end
    end
    for _, t in ipairs(tests) do
      total = total + 1
      local t0 = T.now()
      local ok, terr = xpcall(t.fn, debug.traceback)
      local ms = T.now() - t0
      if ok then
        out(('ok   %s (%.0f ms)'):format(t.name, ms))
      else
        failures = failures + 1
        out(('FAIL %s (%.0f ms)\n%s'):format(t.name, ms, tostring(terr)))
      end
    end
  end
  out(('# %d tests, %d failed, %.1f s'):format(total, failures, (T.now() - t_all) / 1000))
  return failures
end

local specs = {}
for _, a in ipairs(_G.arg or {}) do
  specs[#specs + 1] = a
end
if #specs == 0 then
  -- Specs share nothing but also expect a fresh daemon: run each in its own Neovim, as
  -- tests/neovim/test_neovim.py does (python -m pytest tests/neovim).
  out('usage: nvim --headless --clean -u NONE -l editors/neovim/tests/run.lua SPEC [SPEC...]')
  out('available: ' .. table.concat(vim.tbl_map(function(p)
    return vim.fn.fnamemodify(p, ':t')
  end, vim.fn.glob(T.tests_dir .. '/*_spec.lua', false, true)), ' '))
  vim.cmd('cquit 2')
end

local ok, failures = xpcall(main, debug.traceback, specs)
if not ok then
  out('FAIL runner: ' .. tostring(failures))
  failures = 1
end
if failures == 0 then
  vim.cmd('qall!')
else
  vim.cmd('cquit 1')
end
