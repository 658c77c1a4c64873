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
---@field languages string[] filetypes whose buffers the daemon syncs (completion, hover, cells)
---@field cell_markers table<string,string> Python regex per filetype, '*' for the others ({}: the daemon's)
---@field codelens boolean show the daemon's Run Cell / Run Above lenses in synced buffers
---@field output runbridge.OutputConfig
---@field virtual_text boolean inline status at the end of the run range
---@field media runbridge.MediaConfig
---@field default_keymaps boolean buffer-local <localleader> maps
---@field history runbridge.HistoryConfig earlier output replayed on attach

local M = {}

--- The daemon's bounds of runbridge/history (limit 1..1000, maxBytes 1..48 MiB).
M.HISTORY_MAX_RUNS = 1000
M.HISTORY_MAX_BYTES = 48 * 1024 * 1024

--- The filetypes synced by default: the languages the daemon runs (Neovim's filetype is the
--- languageId it sends; shell scripts are `sh`, or `bash` for *.bash files).
M.LANGUAGES = {
  'python',
  'r',
  'julia',
  'javascript',
  'typescript',
  'sh',
  'bash',
  'ruby',
  'lua',
  'scala',
  'sql',
  'c',
  'cpp',
  'go',
  'rust',
  'java',
}

---@return runbridge.Config
function M.defaults()
  return {
    cmd = { 'runbridge', 'serve' },
    standalone = false,
    cmd_env = {},
    session = 'default',
    profile = nil,
    output_cap_mb = 10,
    languages = vim.deepcopy(M.LANGUAGES),
    cell_markers = {},
    codelens = true,
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

--- Cell markers: strings per filetype (the daemon compiles them as Python regular expressions and
--- names a bad one in its reply to initialize).
local function markers(v)
  if type(v) ~= 'table' then
    return false
  end
  for ft, pattern in pairs(v) do
    if type(ft) ~= 'string' or type(pattern) ~= 'string' or pattern == '' then
      error(('cell_markers[%s]: expected a non-empty string, got %s'):format(vim.inspect(ft), vim.inspect(pattern)), 0)
    end
  end
  return true
end

local function filetype_list(v)
  if type(v) ~= 'table' then
    return false
  end
  for _, item in ipairs(v) do
    if type(item) ~= 'string' or item == '' then
      return false
    end
  end
  return #v == vim.tbl_count(v)
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
  check('languages', c.languages, filetype_list, 'a list of filetypes')
  check('cell_markers', c.cell_markers, markers, 'a table of Python regular expressions per filetype')
  check('codelens', c.codelens, 'boolean')
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
  for _, key in ipairs({ 'cmd', 'cmd_env', 'languages', 'cell_markers' }) do
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
  local o = { outputCapMb = current.output_cap_mb, languages = vim.deepcopy(current.languages) }
  if current.profile then
    o.profile = current.profile
  end
  if next(current.cell_markers) ~= nil then
    o.cellMarkers = vim.deepcopy(current.cell_markers)
  end
  return o
end

--- Whether buffers of this filetype are synced with the daemon.
---@param ft string
---@return boolean
function M.syncs(ft)
  return ft ~= '' and vim.tbl_contains(current.languages, ft)
end

return M
