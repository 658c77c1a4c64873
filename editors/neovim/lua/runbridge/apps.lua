---@mod runbridge.apps A Backend.AI session's apps (service ports) forwarded to 127.0.0.1.
---
--- `:Runbridge app [APP]` forwards an app of the current session through the daemon
--- (runbridge/openApp) and prints its URL; without APP, a picker over runbridge/listApps.
--- `:Runbridge app-close [APP_ID]` stops a forward (all of this Neovim's without an id).
--- Forwards also end when their session closes or the daemon exits.

local M = {}

local function client()
  return require('runbridge.client')
end

local function notify(msg, level)
  vim.notify('runbridge: ' .. msg, level or vim.log.levels.INFO)
end

--- Forwards this Neovim opened, by appId: {app, session, url}.
---@type table<string, table>
M.forwards = {}

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
    M.forwards[opened.appId] = { app = opened.app, session = opened.session, url = opened.url }
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

--- Stops a forward (every forward of this Neovim without an id).
---@param app_id? string
function M.close(app_id)
  local ids = app_id and { app_id } or vim.tbl_keys(M.forwards)
  for _, id in ipairs(ids) do
    client().request('runbridge/closeApp', { appId = id }, function(err)
      M.forwards[id] = nil
      if err then
        notify('app-close: ' .. client().error_message(err), vim.log.levels.ERROR)
      else
        notify(('forward %s closed'):format(id))
      end
    end)
  end
end

return M
