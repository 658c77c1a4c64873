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

--- A terminal buffer in a new split, bound to the daemon's terminal once its id is known.
---@param session string
---@param intro string the plugin's first line in it
---@return runbridge.RemoteTerminal
local function new_terminal(session, intro)
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
  emit(term, dim(intro))

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
  return term
end

local function fail(term, err)
  emit(term, '\27[31mrunbridge: ' .. client.error_message(err) .. '\27[39m\r\n')
  hang_up(term, dim('press any key to close'))
end

--- The daemon's terminal `id` is this buffer's from now on: keys typed meanwhile go out, output
--- that came before the answer is shown (after `replay`, the output it had before).
---@param term runbridge.RemoteTerminal
---@param id string
---@param replay? string
local function bind(term, id, replay)
  term.id = id
  if term.closed then
    -- the buffer went away while the terminal was opening
    client.request('runbridge/closeTerminal', { terminalId = id }, function() end)
    return
  end
  by_id[id] = term
  if replay and replay ~= '' then
    emit(term, replay)
  end
  for _, data in ipairs(term.pending) do
    client.notify('runbridge/terminalInput', { terminalId = id, data = data })
  end
  term.pending = {}
  local orphan = orphans[id]
  orphans[id] = nil
  for _, data in ipairs(orphan and orphan.data or {}) do
    emit(term, data)
  end
  if orphan and orphan.exit then
    M.on_exit(nil, orphan.exit)
    return
  end
  resize(term)
end

--- Opens a remote terminal on the session in a split; returns its buffer.
---@param session string
---@return integer bufnr
function M.open(session)
  local term = new_terminal(session, ('runbridge: opening a terminal in session %s…'):format(session))
  local buf = term.buf
  local size = size_of(buf) or { rows = 24, cols = 80 }
  local function on_opened(err, result)
    if err or type(result) ~= 'table' or type(result.terminalId) ~= 'string' then
      return fail(term, err or 'no terminal id')
    end
    term.size = size
    bind(term, result.terminalId)
  end
  -- the session must be open: open it (or reuse it) first
  client.request('runbridge/openSession', { name = session }, function(err, info)
    if err then
      return fail(term, err)
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

--- Attaches a split to a running terminal of the daemon (runbridge/attachTerminal): its recent
--- output is replayed, then live output and keys flow as in a new one. Returns the buffer.
---@param terminal_id string
---@param session string
---@return integer bufnr
function M.attach(terminal_id, session)
  local intro = ('runbridge: reattaching terminal %s of session %s…'):format(terminal_id, session)
  local term = new_terminal(session, intro)
  client.request('runbridge/attachTerminal', { terminalId = terminal_id }, function(err, result)
    if err or type(result) ~= 'table' or type(result.terminalId) ~= 'string' then
      return fail(term, err or 'no terminal id')
    end
    bind(term, result.terminalId, type(result.replay) == 'string' and result.replay or nil)
  end)
  return term.buf
end

--- The daemon's running terminals of `session` that no buffer of this Neovim shows.
---@param session string
---@param cb fun(terminals: {terminalId: string, session: string, attached: integer}[])
function M.detached(session, cb)
  client.request('runbridge/listTerminals', vim.empty_dict(), function(err, result)
    local found = {}
    if not err and type(result) == 'table' and type(result.terminals) == 'table' then
      for _, t in ipairs(result.terminals) do
        local id = type(t) == 'table' and t.terminalId
        if type(id) == 'string' and t.session == session and not by_id[id] then
          table.insert(found, t)
        end
      end
    end
    cb(found)
  end)
end

--- :Runbridge terminal: when the session has running terminals that this Neovim does not show
--- (opened before it was reopened, or by another client), offers to reattach to one of them or
--- open a new one (vim.ui.select); otherwise opens a new one.
---@param session string
function M.open_or_attach(session)
  M.detached(session, function(found)
    if #found == 0 then
      M.open(session)
      return
    end
    local items = vim.list_extend(vim.deepcopy(found), { { new = true } })
    vim.ui.select(items, {
      prompt = ('runbridge: terminals of session %s'):format(session),
      format_item = function(item)
        if item.new then
          return 'new terminal'
        end
        local n = tonumber(item.attached) or 0
        return ('reattach terminal %s (%s)'):format(
          item.terminalId,
          n == 0 and 'no client attached' or (n == 1 and '1 client attached' or (n .. ' clients attached'))
        )
      end,
    }, function(choice)
      if not choice then
        return
      end
      if choice.new then
        M.open(session)
      else
        M.attach(choice.terminalId, session)
      end
    end)
  end)
end

--- The daemon's terminal id behind a terminal buffer of this plugin, once known.
---@param buf integer
---@return string?
function M.id_of(buf)
  for id, term in pairs(by_id) do
    if term.buf == buf then
      return id
    end
  end
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
