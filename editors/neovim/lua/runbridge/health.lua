---@mod runbridge.health :checkhealth runbridge

local M = {}

local health = vim.health

--- The command that prints the daemon's version: cmd up to 'serve', then --version.
---@param cmd string[]
---@return string[]
local function version_cmd(cmd)
  local out = {}
  for _, word in ipairs(cmd) do
    if word == 'serve' then
      break
    end
    table.insert(out, word)
  end
  table.insert(out, '--version')
  return out
end

local function frame(msg)
  local body = vim.json.encode(msg)
  return ('Content-Length: %d\r\n\r\n%s'):format(#body, body)
end

--- The command of a short-lived daemon for a probe: in process (`--standalone`), so that a
--- health check neither starts the session host nor talks to the sessions in it.
---@param cmd string[]
---@return string[]
local function probe_cmd(cmd)
  if cmd[#cmd] ~= 'serve' then
    return cmd
  end
  local out = vim.deepcopy(cmd)
  table.insert(out, '--standalone')
  return out
end

--- The initialize result of a short-lived daemon (initialize, shutdown, exit), or nil + reason.
---@param cmd string[]
---@param env table
---@return table?, string?
--- Starts a short-lived daemon: initialize, then runbridge/checkProfile for each name in
--- `profiles`, then shutdown and exit. Returns the initialize result and the checks by name.
---@return table? result, table<string, table> checks, string? why
local function probe(cmd, env, profiles)
  profiles = profiles or {}
  local out = ''
  local ok, proc = pcall(vim.system, cmd, {
    stdin = true,
    env = env,
    stdout = function(_, data)
      if data then
        out = out .. data
      end
    end,
  })
  if not ok then
    return nil, {}, tostring(proc)
  end
  local parts = {
    frame({
      jsonrpc = '2.0',
      id = 1,
      method = 'initialize',
      params = {
        processId = vim.fn.getpid(),
        rootUri = vim.NIL,
        capabilities = vim.empty_dict(),
        initializationOptions = require('runbridge.config').init_options(),
      },
    }),
    frame({ jsonrpc = '2.0', method = 'initialized', params = vim.empty_dict() }),
  }
  for i, name in ipairs(profiles) do
    table.insert(parts, frame({ jsonrpc = '2.0', id = 10 + i, method = 'runbridge/checkProfile', params = { profile = name } }))
  end
  proc:write(table.concat(parts))

  local result, why
  local checks, answered = {}, 0
  local pos = 1
  local function parse()
    while true do
      local _, hs, len = out:find('Content%-Length: (%d+)', pos)
      local _, e = out:find('\r\n\r\n', hs or #out + 1, true)
      if not hs or not e or #out < e + tonumber(len) then
        return
      end
      local body = out:sub(e + 1, e + tonumber(len))
      pos = e + tonumber(len) + 1
      local okj, msg = pcall(vim.json.decode, body, { luanil = { object = true } })
      if okj and type(msg) == 'table' and msg.id == 1 then
        result, why = msg.result, msg.error and vim.inspect(msg.error) or nil
      elseif okj and type(msg) == 'table' and type(msg.id) == 'number' and profiles[msg.id - 10] then
        checks[profiles[msg.id - 10]] = msg.result or { ok = false, message = msg.error and msg.error.message or '?' }
        answered = answered + 1
      end
    end
  end
  -- answers, not the daemon's exit: the checks run concurrently with everything else
  vim.wait(30000, function()
    parse()
    return (result ~= nil or why ~= nil) and answered == #profiles
  end, 20)
  proc:write(frame({ jsonrpc = '2.0', id = 2, method = 'shutdown' }) .. frame({ jsonrpc = '2.0', method = 'exit' }))
  proc:write(nil)
  local done = proc:wait(10000)
  if not result and not why then
    why = ('no initialize answer (exit code %s): %s'):format(tostring(done and done.code), vim.trim(done and done.stderr or ''))
  end
  return result, checks, why
end

--- runbridge/checkProfile for each profile, through the running client or a short-lived daemon.
---@return table<string, table>
local function check_profiles(names, cmd, env)
  local lsp_client = require('runbridge.client').get()
  if not lsp_client then
    local _, checks = probe(cmd, env, names)
    return checks
  end
  local checks = {}
  for _, name in ipairs(names) do
    local resp = require('runbridge.client').request_sync(lsp_client, 'runbridge/checkProfile', { profile = name }, 20000)
    if resp and resp.result then
      checks[name] = resp.result
    elseif resp and resp.err then
      checks[name] = { ok = false, message = resp.err.message }
    end
  end
  return checks
end

function M.check()
  health.start('runbridge')

  -- Neovim
  local v = vim.version()
  local vs = ('%d.%d.%d'):format(v.major, v.minor, v.patch)
  if vim.fn.has('nvim-0.11') == 1 then
    health.ok('Neovim ' .. vs)
  elseif vim.fn.has('nvim-0.10') == 1 then
    health.warn('Neovim ' .. vs .. ' works; 0.11 or newer is recommended (vim.lsp.config/enable, lsp/ files)')
  else
    health.error('Neovim ' .. vs .. ' is too old: runbridge needs 0.10 or newer')
    return
  end

  -- configuration
  local config = require('runbridge.config')
  local ok_cfg, err_cfg = pcall(config.validate, config.get())
  if ok_cfg then
    health.ok('configuration is valid')
  else
    health.error('configuration: ' .. tostring(err_cfg))
  end

  -- daemon
  local client = require('runbridge.client')
  local cfg = client.resolve_config()
  if not cfg then
    health.error('lsp/runbridge.lua is not on the runtimepath', { 'add the plugin folder to &runtimepath' })
    return
  end
  local cmd = cfg.cmd
  if type(cmd) ~= 'table' then
    health.info('the daemon command is a function; skipping the daemon checks')
    return
  end
  local exe = vim.fn.exepath(cmd[1])
  if exe == '' then
    health.error(('daemon %q not found'):format(cmd[1]), {
      'pip install runbridge (or pipx install runbridge)',
      "or require('runbridge').setup({ cmd = { '/path/to/runbridge', 'serve' } })",
    })
    return
  end
  health.ok('daemon found: ' .. exe .. ' (cmd: ' .. table.concat(cmd, ' ') .. ')')
  local env_standalone = (cfg.cmd_env or {}).RUNBRIDGE_STANDALONE or vim.env.RUNBRIDGE_STANDALONE
  if vim.tbl_contains(cmd, '--standalone') then
    health.info('standalone daemon (--standalone): its sessions end when Neovim quits')
  elseif env_standalone == '1' then
    health.info('standalone daemon (RUNBRIDGE_STANDALONE=1): its sessions end when Neovim quits')
  else
    health.info('sessions live in the session host and outlive Neovim; :Runbridge stop ends it')
  end

  local env = next(cfg.cmd_env or {}) and cfg.cmd_env or nil
  local okv, res = pcall(function()
    return vim.system(version_cmd(cmd), { text = true, env = env, timeout = 15000 }):wait()
  end)
  local out = okv and vim.trim((res.stdout or '') .. ' ' .. (res.stderr or '')) or ''
  local version, proto = out:match('runbridge%s+(%S+)%s*%(protocol%s+(%d+)%)')
  if version then
    health.ok(('daemon version %s, protocol version %s'):format(version, proto))
    if tonumber(proto) ~= client.PROTOCOL_VERSION then
      health.error(
        ('the daemon speaks protocol %s; this plugin needs protocol %d'):format(proto, client.PROTOCOL_VERSION),
        { 'upgrade runbridge and this plugin together' }
      )
    end
  else
    health.warn('could not read the daemon version from `' .. table.concat(version_cmd(cmd), ' ') .. '`: ' .. out)
  end

  -- profiles (from the running daemon, or a short-lived one)
  local caps = client.capabilities()
  local source = 'running daemon'
  if not caps then
    source = 'probe'
    local result, _, why = probe(probe_cmd(cmd), env, {})
    local exp = result and result.capabilities and result.capabilities.experimental
    caps = exp and exp.runbridge
    if not caps then
      health.warn('could not ask the daemon for its profiles: ' .. tostring(why or 'no runbridge capabilities'))
    end
  end
  if caps then
    health.ok(
      ('daemon answers initialize (%s): protocolVersion %s, backends %s'):format(
        source,
        tostring(caps.protocolVersion),
        table.concat(caps.backends or {}, ', ')
      )
    )
    local names = {}
    for _, p in ipairs(caps.profiles or {}) do
      table.insert(names, tostring(p.name))
    end
    local checks = check_profiles(names, probe_cmd(cmd), env)
    for _, p in ipairs(caps.profiles or {}) do
      local desc = ('profile %s (%s%s)%s'):format(
        tostring(p.name),
        tostring(p.type),
        type(p.image) == 'string' and (', image ' .. p.image) or '',
        p.name == caps.defaultProfile and ' [default]' or ''
      )
      local check = checks[tostring(p.name)]
      if not p.available then
        health.warn(desc .. ' is not available: this daemon cannot serve its type')
      elseif check and check.ok then
        health.ok(desc .. ': ' .. tostring(check.message))
      elseif check then
        health.warn(desc .. ' cannot open sessions now: ' .. tostring(check.message))
      else
        health.warn(desc .. ': could not check it')
      end
    end
    if type(caps.logFile) == 'string' then
      health.info('daemon log: ' .. caps.logFile)
    end
  end

  -- media
  local media = require('runbridge.media')
  local provider = media.provider()
  local want = config.get().media.provider
  if provider then
    health.ok('inline images: ' .. provider)
  elseif want == 'none' then
    health.info('inline images are off (media.provider = none); media are saved to files')
  elseif want ~= 'auto' then
    health.warn(('media.provider = %s but that plugin is not installed; media are saved to files'):format(want))
  else
    health.info('no image.nvim or snacks.nvim: media are saved to files (:Runbridge open-media opens them)')
  end
  health.info('media folder: ' .. config.get().media.dir)
end

return M
