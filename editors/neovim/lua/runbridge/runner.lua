---@mod runbridge.runner Runs code in a session and routes what comes back: text to the output
--- terminal, media to files, the state to an inline status mark. An exception's diagnostic on
--- the raising line comes from the daemon (textDocument/publishDiagnostics, vim.lsp shows it).

local uv = vim.uv or vim.loop
local api = vim.api
local client = require('runbridge.client')
local output = require('runbridge.output')
local text = require('runbridge.text')

local M = {}

---@class runbridge.Run
---@field session string
---@field code string
---@field buf? integer
---@field first? integer 1-based first line of the range
---@field last? integer 1-based last line of the range
---@field mark? integer status extmark id
---@field started number ms (hrtime)
---@field run_id? string
---@field done? boolean
---@field handle? runbridge.RequestHandle
---@field on_done? fun(ok: boolean)

---@type table<string, runbridge.Run[]> runs sent and not answered, per session, in order
local queues = {}
---@type table<string, runbridge.Run>
local by_id = {}
--- Runs started here so far (part of each run's id).
local run_counter = 0
---@type table<string, true> runs of other clients, seen in history
local foreign = {}

local function now_ms()
  return uv.hrtime() / 1e6
end

---@class runbridge.RunRequest
---@field code string
---@field session? string default: the session picked in buf, else the current session
---@field buf? integer origin buffer (status; its uri and the range place the daemon's diagnostics)
---@field first? integer 1-based first line of the origin range
---@field last? integer 1-based last line
---@field first_col? integer 0-based column where the code starts on the first line
---@field last_col? integer 0-based exclusive column where it ends on the last line
---@field mode? 'query'|'batch'
---@field options? table
---@field label? string header text instead of the code's first line
---@field on_done? fun(ok: boolean) called when the run ends: ok when it finished without an error

local function status_of(run, result, err)
  if err then
    if err.code == -32800 then
      return '■ interrupted', 'RunbridgeInterrupted'
    end
    return '✗ ' .. client.error_message(err):gsub('\n.*', ''), 'RunbridgeError'
  end
  local took = text.format_duration(now_ms() - run.started)
  local exit = result.exitCode ~= vim.NIL and result.exitCode or nil
  if result.status == 'finished' then
    if type(result.error) == 'table' then
      return '✗ ' .. tostring(result.error.ename), 'RunbridgeError'
    end
    if exit == nil or exit == 0 then
      return '✓ ' .. took, 'RunbridgeDone'
    end
    return '✗ exit code ' .. tostring(exit), 'RunbridgeError'
  elseif result.status == 'interrupted' then
    return '■ interrupted', 'RunbridgeInterrupted'
  elseif result.status == 'exec-timeout' then
    return '⏱ timed out', 'RunbridgeInterrupted'
  end
  return '✗ ' .. tostring(result.status), 'RunbridgeError'
end

local function forget(run)
  local q = queues[run.session] or {}
  for i, r in ipairs(q) do
    if r == run then
      table.remove(q, i)
      break
    end
  end
  if run.run_id then
    by_id[run.run_id] = nil
  end
end

---@param run runbridge.Run
---@param err? table
---@param result? table
local function finish(run, err, result)
  if run.done then
    return
  end
  run.done = true
  forget(run)
  local ms = now_ms() - run.started
  if err then
    if err.code == -32800 then
      output.write(run.session, text.run_footer('interrupted', 130, ms))
    else
      local msg = client.error_message(err)
      output.write(run.session, text.error_line(msg))
      vim.notify('runbridge: ' .. msg, vim.log.levels.ERROR)
    end
  else
    output.write(run.session, text.run_footer(result.status, result.exitCode, ms, result.message))
  end
  if run.buf and api.nvim_buf_is_valid(run.buf) then
    local label, hl = status_of(run, result, err)
    output.set_status(run.buf, run.last - 1, label, hl, run.mark)
  end
  if run.on_done then
    local exit = result and result.exitCode ~= vim.NIL and result.exitCode or nil
    local ok = not err
      and result.status == 'finished'
      and type(result.error) ~= 'table'
      and (exit == nil or exit == 0)
    run.on_done(ok)
  end
end

--- Runs code; returns the run (async: the result arrives later).
---@param req runbridge.RunRequest
---@return runbridge.Run?
function M.run(req)
  -- a buffer's runs go to the session picked in it, else the current session
  local picked = req.buf and require('runbridge.documents').picked_session(req.buf)
  local session = req.session or picked or require('runbridge.sessions').current()
  local mode = req.mode or 'query'
  if mode ~= 'batch' and vim.trim(req.code or '') == '' then
    vim.notify('runbridge: nothing to run (the code is empty)', vim.log.levels.INFO)
    return nil
  end
  if not client.ensure() then
    return nil
  end
  ---@type runbridge.Run
  local run = { session = session, code = req.code or '', started = now_ms(), on_done = req.on_done }
  -- the header follows the session's earlier output, replayed when the client attaches
  local header = text.run_header(session, req.label or req.code)
  client.when_ready(function()
    output.write(session, header)
  end)
  output.show_on_run(session)
  local params = { session = session, code = req.code or '', mode = mode }
  if req.options then
    params.options = req.options
  end
  if req.buf and api.nvim_buf_is_valid(req.buf) and req.first and req.last then
    run.buf, run.first, run.last = req.buf, req.first, req.last
    output.clear_status(req.buf, req.first - 1, req.last - 1)
    require('runbridge.media').clear_inline(req.buf, req.first - 1, req.last - 1)
    run.mark = output.set_status(req.buf, req.last - 1, '… running', 'RunbridgeRunning')
    local last_line = api.nvim_buf_get_lines(req.buf, req.last - 1, req.last, false)[1] or ''
    local name = api.nvim_buf_get_name(req.buf)
    if name ~= '' then
      params.uri = vim.uri_from_bufnr(req.buf)
    end
    local ft = vim.bo[req.buf].filetype
    if ft ~= '' then
      params.languageId = ft
    end
    params.range = {
      start = { line = req.first - 1, character = req.first_col or 0 },
      ['end'] = { line = req.last - 1, character = req.last_col or #last_line },
    }
  end
  -- the run's own id: its output is told from other clients' runs from the first line
  run_counter = run_counter + 1
  run.run_id = ('nvim-%d-%x-%d'):format(vim.fn.getpid(), uv.hrtime(), run_counter)
  params.runId = run.run_id
  by_id[run.run_id] = run
  queues[session] = queues[session] or {}
  table.insert(queues[session], run)
  run.handle = client.request('runbridge/run', params, function(err, result)
    finish(run, err, result)
  end)
  return run
end

--- The run a notification belongs to, if it was started here (each run sends its own runId).
---@param session string
---@param run_id string
---@return runbridge.Run?
local function run_for(session, run_id)
  local run = by_id[run_id]
  if run and run.session == session then
    return run
  end
end

--- The run behind a runId (for input prompts and media), if it was started here.
---@param run_id string
---@return runbridge.Run?
function M.get(run_id)
  return by_id[run_id]
end

--- A run that was not started here (shown from history): its output is never another run's.
---@param run_id string
function M.mark_foreign(run_id)
  if type(run_id) == 'string' then
    foreign[run_id] = true
  end
end

--- runbridge/output handler.
---@param params {session: string, runId: string, seq: integer, console: table}
function M.on_output(_, params)
  if type(params) ~= 'table' or type(params.session) ~= 'string' or type(params.console) ~= 'table' then
    return
  end
  if require('runbridge.reattach').hold(params) then
    return -- shown after the session's earlier output
  end
  local run = not foreign[params.runId] and run_for(params.session, params.runId) or nil
  M.render_console(params.session, params.runId, params.console, run)
end

--- Writes console records to the session's output: text to its terminal, media to files.
---@param session string
---@param run_id string
---@param console table
---@param run? runbridge.Run the run started here (media shown inline at its range)
---@param quiet? boolean media files are not announced one by one (history)
---@return integer media records saved
function M.render_console(session, run_id, console, run, quiet)
  local saved = 0
  for _, record in ipairs(console) do
    local kind, data = record[1], record[2]
    local display = type(record[3]) == 'table' and record[3] or nil
    if type(kind) == 'string' then
      if (kind == 'stdout' or kind == 'stderr') and type(data) == 'string' then
        data = output.pre_trim(session, data)
      end
      local rendered = text.render_record(kind, data == nil and '' or data)
      if rendered.clear then
        output.clear(session, rendered.wait)
      end
      local media_update = rendered.media and display and display.update
      if rendered.text ~= '' and not media_update then -- an update redraws, it adds no note
        output.write(session, rendered.text)
      end
      if rendered.media then
        local origin = run and run.buf and { buf = run.buf, row = run.last - 1 } or nil
        local path = require('runbridge.media').handle(
          session,
          run_id,
          rendered.media.kind,
          rendered.media.data,
          origin,
          display,
          quiet
        )
        if path then
          saved = saved + 1
        end
      end
    end
  end
  return saved
end

--- The daemon exited: every run still waiting ends failed.
---@param code? integer
---@param signal? integer
function M.on_daemon_exit(code, signal)
  local how = (signal and signal ~= 0) and ('signal ' .. signal) or ('exit code ' .. tostring(code))
  for _, q in pairs(queues) do
    for _, run in ipairs(vim.list_slice(q)) do
      finish(run, { message = ('the daemon exited (%s) before the run ended; see :Runbridge log'):format(how) })
    end
  end
  queues, by_id = {}, {}
end

--- Runs started here and not answered yet in a session.
---@param session string
---@return integer
function M.pending(session)
  return #(queues[session] or {})
end

return M
