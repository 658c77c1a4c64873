---@mod runbridge.terminal Remote terminals: a terminal buffer bound to runbridge/openTerminal,
--- keystrokes forwarded, resized with its window, closed cleanly on exit.
---
--- The buffer is an nvim_open_term() terminal: what the remote shell prints is written to
--- its channel, what the user types (or pastes) in it arrives in on_input and goes out as
--- runbridge/terminalInput. Keys typed before the daemon answered openTerminal are kept
--- and sent once the terminal id is known.

local api = vim.api
local client = require('runbridge.client')

local M = {}

---@class runbridge.RemoteTerminal
---@field session string
---@field buf integer
---@field chan integer the nvim_open_term channel
---@field id? string terminalId once known
---@field exited boolean the remote shell ended (or could not start): the next key closes
---@field closed boolean this side was torn down
---@field pending string[] keys typed before the terminal id was known
---@field size? {rows: integer, cols: integer}

---@type table<string, runbridge.RemoteTerminal> by terminalId
local by_id = {}
---@type table<string, {data: string[], exit?: table}> notifications for an id not known yet
local orphans = {}

local group = api.nvim_create_augroup('runbridge_terminal', { clear = true })

local function dim(s)
  return '\27[2m' .. s .. '\27[22m\r\n'
end

--- Text for the terminal display.
---@param term runbridge.RemoteTerminal
---@param data string
local function emit(term, data)
  if not term.closed and api.nvim_buf_is_valid(term.buf) then
    pcall(api.nvim_chan_send, term.chan, data)
  end
end

--- The shell is gone: say so; the next key closes the buffer.
local function hang_up(term, text)
  term.exited = true
  emit(term, text)
end

--- Size of the smallest window showing the buffer, or nil.
local function size_of(buf)
  local rows, cols
  for _, win in ipairs(api.nvim_list_wins()) do
    if api.nvim_win_get_buf(win) == buf then
      local info = vim.fn.getwininfo(win)[1]
      local h = api.nvim_win_get_height(win)
      local w = api.nvim_win_get_width(win) - (info and info.textoff or 0)
      rows = rows and math.min(rows, h) or h
      cols = cols and math.min(cols, w) or w
    end
  end
  if rows and cols and rows > 0 and cols > 0 then
    return { rows = rows, cols = cols }
  end
end

local function resize(term)
  if not term.id or term.exited then
    return
  end
  local size = size_of(term.buf)
  if size and (not term.size or term.size.rows ~= size.rows or term.size.cols ~= size.cols) then
    term.size = size
    client.notify('runbridge/resizeTerminal', { terminalId = term.id, rows = size.rows, cols = size.cols })
  end
end

local function teardown(term)
  if term.closed then
    return
  end
  term.closed = true
  if term.id then
    by_id[term.id] = nil
    if not term.exited then
      term.exited = true
      client.request('runbridge/closeTerminal', { terminalId = term.id }, function() end)
    end
  end
end

local function buf_name(session)
  local base = 'runbridge://terminal/' .. session
  if vim.fn.bufexists(base) == 0 then
    return base
  end
  local n = 2
  while vim.fn.bufexists(base .. '/' .. n) == 1 do
    n = n + 1
  end
  return base .. '/' .. n
end

--- Keystrokes (and pastes) typed in the terminal buffer.
---@param term runbridge.RemoteTerminal
---@param data string
local function on_input(term, data)
  if term.exited then
    -- "press any key to close"
    vim.schedule(function()
      teardown(term)
      if api.nvim_buf_is_valid(term.buf) then
        pcall(api.nvim_buf_delete, term.buf, { force = true })
      end
    end)
  elseif term.id then
    client.notify('runbridge/terminalInput', { terminalId = term.id, data = data })
  else
    table.insert(term.pending, data)
  end
end

--- Opens a remote terminal on the session in a split; returns its buffer.
---@param session string
---@return integer bufnr
function M.open(session)
  vim.cmd('botright split')
  local buf = api.nvim_create_buf(true, false)
  api.nvim_win_set_buf(0, buf)
  vim.wo.number = false
  vim.wo.relativenumber = false
  vim.wo.signcolumn = 'no'
  ---@type runbridge.RemoteTerminal
  local term = { session = session, buf = buf, chan = 0, exited = false, closed = false, pending = {} }
  term.chan = api.nvim_open_term(buf, {
    on_input = function(_, _, _, data)
      on_input(term, data)
    end,
  })
  pcall(api.nvim_buf_set_name, buf, buf_name(session))
  vim.b[buf].runbridge_session = session
  emit(term, dim(('runbridge: opening a terminal in session %s…'):format(session)))

  api.nvim_create_autocmd('BufWipeout', {
    group = group,
    buffer = buf,
    callback = function()
      teardown(term)
    end,
  })
  api.nvim_create_autocmd({ 'WinResized', 'VimResized', 'BufWinEnter' }, {
    group = group,
    callback = function()
      if term.closed or not api.nvim_buf_is_valid(buf) then
        return true -- delete this autocmd
      end
      resize(term)
    end,
  })

  local function fail(err)
    emit(term, '\27[31mrunbridge: ' .. client.error_message(err) .. '\27[39m\r\n')
    hang_up(term, dim('press any key to close'))
  end
  local size = size_of(buf) or { rows = 24, cols = 80 }
  local function on_opened(err, result)
    if err or type(result) ~= 'table' or type(result.terminalId) ~= 'string' then
      return fail(err or 'no terminal id')
    end
    term.id = result.terminalId
    if term.closed then
      -- the buffer went away while the terminal was opening
      client.request('runbridge/closeTerminal', { terminalId = term.id }, function() end)
      return
    end
    term.size = size
    by_id[term.id] = term
    for _, data in ipairs(term.pending) do
      client.notify('runbridge/terminalInput', { terminalId = term.id, data = data })
    end
    term.pending = {}
    local orphan = orphans[term.id]
    orphans[term.id] = nil
    for _, data in ipairs(orphan and orphan.data or {}) do
      emit(term, data)
    end
    if orphan and orphan.exit then
      M.on_exit(nil, orphan.exit)
      return
    end
    resize(term)
  end
  -- the session must be open: open it (or reuse it) first
  client.request('runbridge/openSession', { name = session }, function(err, info)
    if err then
      return fail(err)
    end
    require('runbridge.sessions').update(info)
    if term.closed then
      return
    end
    size = size_of(buf) or size
    client.request('runbridge/openTerminal', { session = session, rows = size.rows, cols = size.cols }, on_opened)
  end)
  return buf
end

--- runbridge/terminalOutput handler.
---@param params {terminalId: string, data: string}
function M.on_output(_, params)
  if type(params) ~= 'table' or type(params.terminalId) ~= 'string' or type(params.data) ~= 'string' then
    return
  end
  local term = by_id[params.terminalId]
  if term then
    emit(term, params.data)
  else
    -- output of a terminal whose openTerminal answer has not arrived yet
    local orphan = orphans[params.terminalId] or { data = {} }
    orphans[params.terminalId] = orphan
    if #orphan.data < 1000 then
      table.insert(orphan.data, params.data)
    end
  end
end

--- runbridge/terminalExit handler.
---@param params {terminalId: string, exitCode: integer?}
function M.on_exit(_, params)
  if type(params) ~= 'table' or type(params.terminalId) ~= 'string' then
    return
  end
  local term = by_id[params.terminalId]
  if not term then
    local orphan = orphans[params.terminalId] or { data = {} }
    orphan.exit = params
    orphans[params.terminalId] = orphan
    return
  end
  by_id[params.terminalId] = nil
  local code = params.exitCode ~= vim.NIL and params.exitCode or nil
  hang_up(
    term,
    '\r\n'
      .. dim(
        ('runbridge: the remote shell ended%s; press any key to close'):format(
          code and (' (exit code ' .. code .. ')') or ''
        )
      )
  )
end

--- The daemon exited: every remote terminal is gone.
function M.on_daemon_exit()
  for id, term in pairs(by_id) do
    hang_up(term, '\r\n' .. dim('runbridge: the daemon exited; press any key to close'))
    by_id[id] = nil
  end
end

return M
