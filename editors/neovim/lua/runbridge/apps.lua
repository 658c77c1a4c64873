---@mod runbridge.apps A Backend.AI session's apps (service ports) forwarded to 127.0.0.1.
---
--- `:Runbridge app [APP]` forwards an app of the current session through the daemon
--- (runbridge/openApp) and prints its URL; without APP, a picker over runbridge/listApps.
--- `:Runbridge app-close [APP_ID]` stops a forward (without an id, every forward of the
--- current session), as the daemon lists them (runbridge/listForwards). Forwards also end
--- when their session closes or the daemon exits.

local M = {}

local function client()
  return require('runbridge.client')
end

local function notify(msg, level)
  vim.notify('runbridge: ' .. msg, level or vim.log.levels.INFO)
end

--- Forwards `app` of `session` (default: the current session); on_done(opened) when done.
---@param app string
---@param session? string
---@param on_done? fun(opened: table)
function M.open(app, session, on_done)
  session = session or require('runbridge.sessions').current()
  client().request('runbridge/openApp', { session = session, app = app }, function(err, opened)
    if err then
      notify('app: ' .. client().error_message(err), vim.log.levels.ERROR)
      return
    end
    notify(('app %s of session %s is at %s'):format(opened.app, opened.session, opened.url))
    if on_done then
      on_done(opened)
    end
  end)
end

--- Picks one of the session's apps (vim.ui.select) and forwards it.
---@param session? string
function M.pick(session)
  session = session or require('runbridge.sessions').current()
  client().request('runbridge/listApps', { session = session }, function(err, result)
    if err then
      notify('app: ' .. client().error_message(err), vim.log.levels.ERROR)
      return
    end
    local apps = result.apps or {}
    if #apps == 0 then
      notify(('session %s has no apps'):format(session))
      return
    end
    vim.ui.select(apps, {
      prompt = ('Open which app of session %s?'):format(session),
      format_item = function(a)
        return ('%s  %s'):format(a.name, a.description)
      end,
    }, function(choice)
      if choice then
        M.open(choice.name, session)
      end
    end)
  end)
end

local function close_one(id)
  client().request('runbridge/closeApp', { appId = id }, function(err)
    if err then
      notify('app-close: ' .. client().error_message(err), vim.log.levels.ERROR)
    else
      notify(('forward %s closed'):format(id))
    end
  end)
end

--- Stops a forward; without an id, every forward of the current session.
---@param app_id? string
function M.close(app_id)
  if app_id then
    return close_one(app_id)
  end
  local session = require('runbridge.sessions').current()
  client().request('runbridge/listForwards', { session = session }, function(err, result)
    if err then
      notify('app-close: ' .. client().error_message(err), vim.log.levels.ERROR)
      return
    end
    local forwards = result.forwards or {}
    if #forwards == 0 then
      notify(('no forward open for session %s'):format(session))
    end
    for _, forward in ipairs(forwards) do
      close_one(forward.appId)
    end
  end)
end

--- The ids of the forwards open now, asked of the daemon synchronously (for completion:
--- none when it is not running or does not answer within 2 s).
---@return string[]
function M.open_ids()
  local c = client().get()
  if not c or not c.initialized then
    return {}
  end
  local resp = client().request_sync(c, 'runbridge/listForwards', vim.empty_dict(), 2000)
  local ids = {}
  for _, forward in ipairs(resp and resp.result and resp.result.forwards or {}) do
    table.insert(ids, forward.appId)
  end
  return ids
end

return M
