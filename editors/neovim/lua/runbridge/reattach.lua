---@mod runbridge.reattach When the client attaches to a daemon that already has sessions (the
--- session host kept them while Neovim was closed): follow each session so its live output comes
--- here, and show its last runs from runbridge/history in its output buffer first.
---
--- Stitching: the follow request goes first, then history. Live notifications of a session that
--- arrive before its history reply are held; once history is written, those of a run it covered
--- up to their `seq` (`lastSeq`) are dropped and the rest go through as live output. So a run
--- still printing continues with no gap and no repeat.

local M = {}

---@type table<string, table[]> per session whose history is awaited: live notifications held
local held = {}

--- How long the requests that waited for the client may wait for the earlier output.
M.TIMEOUT_MS = 10000

local function request(c, method, params, cb)
  local ok
  if vim.fn.has('nvim-0.11') == 1 then
    ok = c:request(method, params, cb)
  else
    ok = c.request(method, params, cb)
  end
  if not ok then
    cb({ message = 'the daemon is not running' }, nil)
  end
end

--- Whether a live runbridge/output notification waits for its session's history (then it is kept
--- and delivered later; the caller drops it now).
---@param params table
---@return boolean
function M.hold(params)
  local list = held[params.session]
  if not list then
    return false
  end
  table.insert(list, params)
  return true
end

--- Writes the history of a session, then the live output held meanwhile (minus what history had).
---@param session string
---@param result? table runbridge/history result
local function replay(session, result)
  local list = held[session] or {}
  held[session] = nil
  local last_seq = {}
  if type(result) == 'table' then
    last_seq = require('runbridge.history').render(session, result)
  end
  local runner = require('runbridge.runner')
  for _, params in ipairs(list) do
    local seen = last_seq[params.runId]
    if not (seen and type(params.seq) == 'number' and params.seq <= seen) then
      runner.on_output(nil, params)
    end
  end
end

--- Follows the daemon's sessions and shows their last runs; done() runs once every session's
--- history is written (or after TIMEOUT_MS, or at once when there is nothing to show).
---@param c vim.lsp.Client
---@param done fun()
function M.start(c, done)
  local finished = false
  local function finish()
    if not finished then
      finished = true
      done()
    end
  end
  vim.defer_fn(finish, M.TIMEOUT_MS)
  local bounds = require('runbridge.config').get().history
  request(c, 'runbridge/listSessions', vim.empty_dict(), function(err, result)
    if err or type(result) ~= 'table' or type(result.sessions) ~= 'table' then
      return finish()
    end
    local names = {}
    for _, info in ipairs(result.sessions) do
      if type(info) == 'table' and type(info.name) == 'string' and info.state ~= 'closed' then
        require('runbridge.sessions').update(info)
        table.insert(names, info.name)
      end
    end
    local left = #names
    if left == 0 then
      return finish()
    end
    for _, name in ipairs(names) do
      if bounds.runs > 0 then
        held[name] = held[name] or {}
      end
      request(c, 'runbridge/follow', { session = name, follow = true }, function() end)
      if bounds.runs > 0 then
        local params = { session = name, limit = bounds.runs, maxBytes = bounds.bytes }
        request(c, 'runbridge/history', params, function(herr, history)
          if herr then
            vim.notify(
              ('runbridge: the earlier output of session %s: %s'):format(
                name,
                require('runbridge.client').error_message(herr)
              ),
              vim.log.levels.WARN
            )
          end
          replay(name, not herr and history or nil)
          left = left - 1
          if left == 0 then
            finish()
          end
        end)
      else
        left = left - 1
        if left == 0 then
          finish()
        end
      end
    end
  end)
end

--- The daemon exited: nothing is awaited any more.
function M.reset()
  held = {}
end

return M
