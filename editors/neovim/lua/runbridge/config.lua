---@mod runbridge.config Defaults, validation and setup() merging.

---@class runbridge.OutputConfig
---@field open 'on_run'|'never' open the session's output window when a run starts
---@field split string split modifier for the output window (e.g. 'botright', 'vertical')
---@field size integer height (or width for a vertical split) of the output window

---@class runbridge.MediaConfig
---@field dir string folder where image, SVG and HTML records are saved
---@field provider 'auto'|'image.nvim'|'snacks'|'none' inline image provider

---@class runbridge.HistoryConfig
---@field runs integer last runs per session shown when the client attaches (0: none)
---@field bytes integer at most this much of their output (characters of record data)

---@class runbridge.Config
---@field cmd string[] daemon command (default: the relay to the session host)
---@field standalone boolean run an in-process daemon (`serve --standalone`): sessions end with Neovim
---@field cmd_env table<string,string> extra environment for the daemon
---@field session string initial current session
---@field profile? string initializationOptions.profile
---@field output_cap_mb number initializationOptions.outputCapMb
---@field cell_markers table<string,string> vim regex per filetype, '*' fallback
---@field output runbridge.OutputConfig
---@field virtual_text boolean inline status at the end of the run range
---@field media runbridge.MediaConfig
---@field default_keymaps boolean buffer-local <localleader> maps
---@field history runbridge.HistoryConfig earlier output replayed on attach

local M = {}

--- The daemon's bounds of runbridge/history (limit 1..1000, maxBytes 1..48 MiB).
M.HISTORY_MAX_RUNS = 1000
M.HISTORY_MAX_BYTES = 48 * 1024 * 1024

---@return runbridge.Config
function M.defaults()
  return {
    cmd = { 'runbridge', 'serve' },
    standalone = false,
    cmd_env = {},
    session = 'default',
    profile = nil,
    output_cap_mb = 10,
    cell_markers = { ['*'] = [[^\s*\(#\|//\|--\)\s*%%]] },
    output = { open = 'on_run', split = 'botright', size = 12 },
    virtual_text = true,
    media = { dir = vim.fn.stdpath('cache') .. '/runbridge/media', provider = 'auto' },
    default_keymaps = false,
    history = { runs = 10, bytes = 1024 * 1024 },
  }
end

---@type runbridge.Config
local current = M.defaults()
---@type table<string, boolean> top-level keys the user set through setup()
local explicit = {}

local function one_of(values)
  return function(v)
    return vim.tbl_contains(values, v)
  end
end

local function string_list(v)
  if type(v) ~= 'table' or #v == 0 then
    return false
  end
  for _, item in ipairs(v) do
    if type(item) ~= 'string' or item == '' then
      return false
    end
  end
  return true
end

local function string_map(v)
  if type(v) ~= 'table' then
    return false
  end
  for k, item in pairs(v) do
    if type(k) ~= 'string' or type(item) ~= 'string' then
      return false
    end
  end
  return true
end

--- A vim regex that compiles and does not match an empty line.
---@param pattern string
---@return boolean ok, string? why
function M.check_marker(pattern)
  if type(pattern) ~= 'string' or pattern == '' then
    return false, 'a non-empty vim regex'
  end
  local ok, re = pcall(vim.regex, pattern)
  if not ok then
    return false, 'a valid vim regex (' .. tostring(re):gsub('^[^\n]-:%d+: ', '') .. ')'
  end
  if re:match_str('') then
    return false, 'a vim regex that does not match an empty line'
  end
  return true
end

--- Raises an error naming the bad entry (vim.validate then reports it under 'cell_markers').
local function markers(v)
  if type(v) ~= 'table' then
    return false
  end
  for ft, pattern in pairs(v) do
    local ok, why = M.check_marker(pattern)
    if type(ft) ~= 'string' or not ok then
      error(('cell_markers[%q]: expected %s, got %s'):format(tostring(ft), why or 'a string', vim.inspect(pattern)), 0)
    end
  end
  return true
end

--- vim.validate with the (name, value, validator, optional/message) form on 0.11 and the table form on 0.10.
local function check(name, value, validator, optional, message)
  if vim.fn.has('nvim-0.11') == 1 then
    vim.validate(name, value, validator, optional or message)
  else
    vim.validate({ [name] = { value, validator, optional or message } })
  end
end

--- Validates a full config; raises an error naming the offending key.
---@param c runbridge.Config
function M.validate(c)
  check('cmd', c.cmd, string_list, 'a non-empty list of strings')
  check('standalone', c.standalone, 'boolean')
  check('cmd_env', c.cmd_env, string_map, 'a table of strings')
  check('session', c.session, function(v)
    return type(v) == 'string' and v ~= ''
  end, 'a non-empty string')
  check('profile', c.profile, 'string', true)
  check('output_cap_mb', c.output_cap_mb, function(v)
    return type(v) == 'number' and v > 0
  end, 'a positive number')
  check('cell_markers', c.cell_markers, markers, 'a table of vim regexes per filetype')
  check('output', c.output, 'table')
  check('output.open', c.output.open, one_of({ 'on_run', 'never' }), 'one of on_run, never')
  check('output.split', c.output.split, 'string')
  check('output.size', c.output.size, function(v)
    return type(v) == 'number' and v >= 1 and math.floor(v) == v
  end, 'a positive integer')
  check('virtual_text', c.virtual_text, 'boolean')
  check('media', c.media, 'table')
  check('media.dir', c.media.dir, function(v)
    return type(v) == 'string' and v ~= ''
  end, 'a non-empty string')
  check(
    'media.provider',
    c.media.provider,
    one_of({ 'auto', 'image.nvim', 'snacks', 'none' }),
    'one of auto, image.nvim, snacks, none'
  )
  check('default_keymaps', c.default_keymaps, 'boolean')
  check('history', c.history, 'table')
  check('history.runs', c.history.runs, function(v)
    return type(v) == 'number' and math.floor(v) == v and v >= 0 and v <= M.HISTORY_MAX_RUNS
  end, ('an integer from 0 to %d'):format(M.HISTORY_MAX_RUNS))
  check('history.bytes', c.history.bytes, function(v)
    return type(v) == 'number' and math.floor(v) == v and v >= 1 and v <= M.HISTORY_MAX_BYTES
  end, ('an integer from 1 to %d'):format(M.HISTORY_MAX_BYTES))
end

--- Merges opts over the defaults (not over a previous setup()), validates, and makes it current.
--- Raises an error naming the key when a value is invalid; the previous config then stays.
---@param opts? table
---@return runbridge.Config
function M.setup(opts)
  opts = opts or {}
  if type(opts) ~= 'table' then
    error('runbridge.setup: opts must be a table', 2)
  end
  local merged = vim.tbl_deep_extend('force', M.defaults(), opts)
  -- lists and maps given by the user replace the defaults instead of merging with them
  for _, key in ipairs({ 'cmd', 'cmd_env' }) do
    if opts[key] ~= nil then
      merged[key] = opts[key]
    end
  end
  local ok, err = pcall(M.validate, merged)
  if not ok then
    error('runbridge.setup: ' .. tostring(err):gsub('^[^\n]-:%d+: ', ''), 0)
  end
  current = merged
  explicit = {}
  for k in pairs(opts) do
    explicit[k] = true
  end
  return current
end

---@return runbridge.Config
function M.get()
  return current
end

--- Whether setup() was given this top-level key.
---@param key string
function M.is_explicit(key)
  return explicit[key] == true
end

--- The daemon command: `cmd`, with `--standalone` added when `standalone` is set.
---@param cmd? string[] default: the configured cmd
---@return string[]
function M.daemon_cmd(cmd)
  local out = vim.deepcopy(cmd or current.cmd)
  if current.standalone and not vim.tbl_contains(out, '--standalone') then
    table.insert(out, '--standalone')
  end
  return out
end

--- initializationOptions for the daemon.
function M.init_options()
  local o = { outputCapMb = current.output_cap_mb }
  if current.profile then
    o.profile = current.profile
  end
  return o
end

--- The cell marker regex for a filetype.
---@param ft string
---@return string
function M.marker_for(ft)
  local m = current.cell_markers
  local pick = function(k)
    local v = m[k]
    return type(v) == 'string' and v ~= '' and v or nil
  end
  return pick(ft) or pick('*') or M.defaults().cell_markers['*']
end

return M
