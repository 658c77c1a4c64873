---@mod runbridge.sessions Session state known to this editor: the current session and SessionInfo.

local M = {}

---@class runbridge.SessionInfo
---@field name string
---@field profile string
---@field backend string
---@field image? string
---@field state 'starting'|'idle'|'busy'|'dead'|'closed'
---@field workdir? string nil (vim.NIL) for an attached kernel whose folder the server does not say
---@field backendStatus? string
---@field lastActivity? number seconds since the epoch
---@field attached? boolean bound with openSession {attach}: closing lets go of it
---@field remoteId? string the server's id (kernel id, Backend.AI session id)

---@type string?
local current
---@type table<string, runbridge.SessionInfo>
local infos = {}

---@return string
function M.current()
  return current or require('runbridge.config').get().session
end

---@param name string
function M.set_current(name)
  current = name
  vim.cmd('redrawstatus')
end

---@param info runbridge.SessionInfo
function M.update(info)
  if type(info) ~= 'table' or type(info.name) ~= 'string' then
    return
  end
  infos[info.name] = info
  vim.cmd('redrawstatus')
end

---@param name string
---@return runbridge.SessionInfo?
function M.get(name)
  return infos[name]
end

--- Names of the sessions this editor has seen (open or not), sorted.
---@return string[]
function M.names()
  local names = vim.tbl_keys(infos)
  local cur = M.current()
  if not infos[cur] then
    table.insert(names, cur)
  end
  table.sort(names)
  return names
end

--- Forget everything (the daemon exited).
function M.reset()
  infos = {}
end

--- "runbridge: NAME (PROFILE) STATE" for a statusline, then " · SUMMARY" (the daemon's text
--- of a Backend.AI session's options) when the session has one.
---@param name? string default: the current session
---@return string
function M.status(name)
  name = name or M.current()
  local info = infos[name]
  local profile = info and info.profile
  if not profile or profile == vim.NIL then
    local caps = require('runbridge.client').capabilities()
    profile = require('runbridge.config').get().profile or (caps and caps.defaultProfile) or 'local'
  end
  local state = info and info.state or 'closed'
  if info and type(info.backendStatus) == 'string' and state == 'starting' then
    state = state .. ' ' .. info.backendStatus
  end
  -- Backend.AI sessions: the daemon's one-line text of the session options, as it is
  local summary = ''
  if info and type(info.summary) == 'string' and info.summary ~= '' then
    summary = ' · ' .. info.summary
  end
  return string.format('runbridge: %s (%s) %s%s', name, profile, state, summary)
end

return M
