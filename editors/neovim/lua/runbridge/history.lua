---@mod runbridge.history A session's earlier runs (a runbridge/history result) written to its
--- output buffer as live runs are: header, the same records (media saved to files), and a footer
--- for each run that ended.

local output = require('runbridge.output')
local text = require('runbridge.text')

local M = {}

local function plural(n, word)
  return ('%d %s%s'):format(n, word, n == 1 and '' or 's')
end

--- Header label of a run from history: its code, or its batch commands.
local function label(run)
  local code = type(run.code) == 'string' and run.code or ''
  if vim.trim(code) == '' and run.mode == 'batch' then
    return 'batch'
  end
  return code
end

--- Writes a history result into the session's output.
---@param session string
---@param result table runbridge/history result
---@return table<string, integer> lastSeq per run id (what the history covered)
function M.render(session, result)
  local runner = require('runbridge.runner')
  local covered = {}
  local runs = type(result.runs) == 'table' and result.runs or {}
  if #runs == 0 then
    return covered
  end
  output.write(
    session,
    text.note(
      ('earlier output of session %s: the last %s%s'):format(
        session,
        plural(#runs, 'run'),
        result.more == true and ' (older output left out)' or ''
      )
    )
  )
  local media = 0
  for _, run in ipairs(runs) do
    if type(run) == 'table' and type(run.runId) == 'string' then
      runner.mark_foreign(run.runId)
      covered[run.runId] = type(run.lastSeq) == 'number' and run.lastSeq or 0
      output.write(session, text.run_header(session, label(run)))
      for _, batch in ipairs(type(run.batches) == 'table' and run.batches or {}) do
        if type(batch) == 'table' and type(batch.console) == 'table' then
          media = media + runner.render_console(session, run.runId, batch.console, nil, true)
        end
      end
      local started = type(run.started) == 'number' and run.started or nil
      if type(run.status) == 'string' then
        output.write(session, text.history_footer(run.status, run.exitCode, started))
      else
        output.write(session, text.note('still running; its output continues below as it comes'))
      end
    end
  end
  if media > 0 then
    local dir = require('runbridge.config').get().media.dir
    vim.notify(
      ('runbridge: %s of earlier runs of session %s saved under %s'):format(plural(media, 'media file'), session, dir),
      vim.log.levels.INFO
    )
  end
  return covered
end

return M
