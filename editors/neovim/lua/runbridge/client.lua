---@mod runbridge.client The daemon's LSP client: lazy start, readiness, request/notify helpers.

local M = {}

M.PROTOCOL_VERSION = 1
M.NAME = 'runbridge'

local has_011 = vim.fn.has('nvim-0.11') == 1

---@type table? capabilities.experimental.runbridge of the initialize result
local caps
---@type fun()[] callbacks waiting for the client to be ready (initialized and attached)
local waiters = {}
local failed_waiters = {}
---@type table<integer, 'attaching'|'ready'> per client id: the earlier output was replayed
local attach_state = {}

local function notify(msg, level)
  vim.notify('runbridge: ' .. msg, level or vim.log.levels.INFO)
end

--- The running runbridge client, if any (started by this plugin or by vim.lsp.enable).
---@return vim.lsp.Client?
function M.get()
  for _, c in ipairs(vim.lsp.get_clients({ name = M.NAME })) do
    local stopped
    if has_011 then
      stopped = c:is_stopped()
    else
      stopped = c.is_stopped()
    end
    if not stopped then
      return c
    end
  end
end

--- The resolved client config: lsp/runbridge.lua (merged with vim.lsp.config on 0.11) plus setup().
---@return table?
function M.resolve_config()
  local base
  if has_011 and vim.lsp.config then
    local ok, resolved = pcall(function()
      return vim.lsp.config[M.NAME]
    end)
    base = ok and resolved or nil
  end
  if not base then
    local file = vim.api.nvim_get_runtime_file('lsp/' .. M.NAME .. '.lua', false)[1]
    if file then
      base = dofile(file)
    end
  end
  if not base then
    return nil
  end
  local cfg = vim.deepcopy(base)
  local opts = require('runbridge.config').get()
  cfg.name = M.NAME
  if require('runbridge.config').is_explicit('cmd') or not cfg.cmd then
    cfg.cmd = vim.deepcopy(opts.cmd)
  end
  if type(cfg.cmd) == 'table' then
    cfg.cmd = require('runbridge.config').daemon_cmd(cfg.cmd)
  end
  cfg.cmd_env = vim.tbl_extend('force', cfg.cmd_env or {}, opts.cmd_env or {})
  return cfg
end

--- The client, started if needed. Returns nil (after an error notification) when it cannot start.
---@return vim.lsp.Client?
function M.ensure()
  local existing = M.get()
  if existing then
    return existing
  end
  local cfg = M.resolve_config()
  if not cfg then
    notify('lsp/runbridge.lua is not on the runtimepath; add the plugin folder to &runtimepath', vim.log.levels.ERROR)
    return nil
  end
  if type(cfg.cmd) == 'table' and vim.fn.executable(cfg.cmd[1]) ~= 1 then
    notify(
      ('the daemon command %q was not found; install runbridge (pip install runbridge) or set cmd in setup()'):format(
        tostring(cfg.cmd[1])
      ),
      vim.log.levels.ERROR
    )
    return nil
  end
  local id
  if has_011 then
    id = vim.lsp.start(cfg, { attach = false, silent = true })
  else
    ---@diagnostic disable-next-line: deprecated
    id = vim.lsp.start_client(cfg)
  end
  local client = id and vim.lsp.get_client_by_id(id)
  if not client then
    notify('could not start the daemon (' .. table.concat(type(cfg.cmd) == 'table' and cfg.cmd or {}, ' ') .. ')', vim.log.levels.ERROR)
    return nil
  end
  return client
end

--- capabilities.experimental.runbridge of the running daemon, or nil.
---@return table?
function M.capabilities()
  if caps then
    return caps
  end
  local c = M.get()
  local sc = c and c.server_capabilities
  local exp = sc and sc.experimental
  return type(exp) == 'table' and type(exp.runbridge) == 'table' and exp.runbridge or nil
end

--- Runs what waited for the client: it is initialized and the sessions' earlier output is shown.
---@param c vim.lsp.Client
local function release(c)
  if attach_state[c.id] == 'ready' then
    return
  end
  attach_state[c.id] = 'ready'
  local pending = waiters
  waiters, failed_waiters = {}, {}
  for _, fn in ipairs(pending) do
    fn()
  end
end

--- Once the client is initialized: follow the sessions the daemon has and replay their last
--- runs (runbridge.reattach), then release the requests that waited, so that a run asked for
--- before the daemon was up shows after the earlier output.
---@param c vim.lsp.Client
local function attach(c)
  if attach_state[c.id] then
    return
  end
  attach_state[c.id] = 'attaching'
  require('runbridge.reattach').start(c, function()
    release(c)
  end)
end

--- Calls fn(client) once the client is ready, or fn(nil, message) if it cannot start.
---@param fn fun(client?: vim.lsp.Client, err?: string)
function M.when_ready(fn)
  local c = M.ensure()
  if not c then
    fn(nil, 'the daemon is not running')
    return
  end
  if c.initialized and attach_state[c.id] == 'ready' then
    fn(c)
    return
  end
  table.insert(waiters, function()
    fn(M.get())
  end)
  table.insert(failed_waiters, fn)
  if c.initialized then
    -- started by someone else's on_init (vim.lsp.config override): attach now
    attach(c)
  end
end

--- Sends a request to a running daemon `c` and waits for its answer (at most timeout_ms):
--- {result, err}, or nil when it did not answer in time.
---@param c vim.lsp.Client
---@param method string
---@param params table
---@param timeout_ms integer
---@return table?
function M.request_sync(c, method, params, timeout_ms)
  if has_011 then
    return c:request_sync(method, params, timeout_ms)
  end
  ---@diagnostic disable-next-line: missing-parameter
  return c.request_sync(method, params, timeout_ms)
end

---@class runbridge.RequestHandle
---@field cancel fun() sends $/cancelRequest (once sent)

--- Sends a request once the daemon is ready; cb(err, result) runs on the main loop.
--- err is an lsp.ResponseError-like table {code?, message, data?}. With bufnr, the buffer's
--- pending changes reach the daemon first.
---@param method string
---@param params table
---@param cb? fun(err: table?, result: any)
---@param bufnr? integer
---@return runbridge.RequestHandle
function M.request(method, params, cb, bufnr)
  cb = cb or function(err)
    if err then
      notify(M.error_message(err), vim.log.levels.ERROR)
    end
  end
  local handle = { cancelled = false }
  local sent_client, sent_id
  function handle.cancel()
    handle.cancelled = true
    if sent_client and sent_id then
      if has_011 then
        sent_client:cancel_request(sent_id)
      else
        sent_client.cancel_request(sent_id)
      end
    end
  end
  M.when_ready(function(c, why)
    if not c then
      cb({ message = why or 'the daemon is not running' }, nil)
      return
    end
    if handle.cancelled then
      cb({ code = -32800, message = 'cancelled' }, nil)
      return
    end
    local handler = function(err, result)
      cb(err, result)
    end
    local ok, id
    if bufnr and not vim.api.nvim_buf_is_valid(bufnr) then
      bufnr = nil
    end
    if has_011 then
      ok, id = c:request(method, params, handler, bufnr)
    else
      ok, id = c.request(method, params, handler, bufnr)
    end
    if not ok then
      cb({ message = 'the daemon is not running' }, nil)
      return
    end
    sent_client, sent_id = c, id
  end)
  return handle
end

--- Sends a notification if the daemon is running (never starts it).
---@param method string
---@param params table
function M.notify(method, params)
  local c = M.get()
  if not c then
    return false
  end
  if has_011 then
    return c:notify(method, params)
  end
  return c.notify(method, params)
end

--- A readable sentence for an error response.
---@param err table|string
---@return string
function M.error_message(err)
  if type(err) ~= 'table' then
    return tostring(err)
  end
  local msg = err.message
  if type(msg) ~= 'string' or msg == '' then
    msg = vim.inspect(err)
  end
  return msg
end

-- Handlers wired in lsp/runbridge.lua ---------------------------------------------------------

---@param client vim.lsp.Client
---@param result table initialize result
function M.on_init(client, result)
  local exp = result and result.capabilities and result.capabilities.experimental
  caps = type(exp) == 'table' and type(exp.runbridge) == 'table' and exp.runbridge or nil
  if not caps then
    notify('the server did not announce runbridge capabilities; is cmd a runbridge daemon?', vim.log.levels.WARN)
  elseif caps.protocolVersion ~= M.PROTOCOL_VERSION then
    notify(
      ('the daemon speaks protocol %s; this plugin was written for protocol %d'):format(
        tostring(caps.protocolVersion),
        M.PROTOCOL_VERSION
      ),
      vim.log.levels.WARN
    )
  end
  -- the buffers of the languages the daemon syncs (didOpen follows the initialization)
  require('runbridge.documents').attach_all(client)
  -- after on_init returns, when client.initialized is set
  vim.schedule(function()
    attach(client)
  end)
end

---@param code integer
---@param signal integer
function M.on_exit(code, signal, client_id)
  caps = nil
  if client_id then
    attach_state[client_id] = nil
  end
  local failed = failed_waiters
  waiters, failed_waiters = {}, {}
  vim.schedule(function()
    for _, fn in ipairs(failed) do
      fn(nil, 'the daemon exited before it was ready')
    end
    require('runbridge.sessions').reset()
    require('runbridge.documents').reset()
    require('runbridge.reattach').reset()
    -- (Neovim itself reports an exit with a non-zero code or a signal)
    require('runbridge.runner').on_daemon_exit(code, signal)
    require('runbridge.terminal').on_daemon_exit()
  end)
end

---@param result {session: table}
function M.on_session_changed(_, result)
  if type(result) == 'table' and type(result.session) == 'table' then
    require('runbridge.sessions').update(result.session)
  end
end

return M
