---@mod runbridge.output Per-session output terminals (nvim_open_term), paced writes and
--- inline status extmarks. (An exception's diagnostic is the daemon's: publishDiagnostics.)

local api = vim.api
local Pacer = require('runbridge.pacer')

local M = {}

M.status_ns = api.nvim_create_namespace('runbridge_status')

local group = api.nvim_create_augroup('runbridge_output', { clear = true })

---@class runbridge.OutputTerm
---@field buf integer
---@field chan integer
---@field pacer runbridge.Pacer
---@field clear_on_next? boolean a clear_output(wait=True) waiting for the next output

---@type table<string, runbridge.OutputTerm>
local terms = {}

local highlights_done = false
local function define_highlights()
  if highlights_done then
    return
  end
  highlights_done = true
  for name, link in pairs({
    RunbridgeRunning = 'DiagnosticInfo',
    RunbridgeDone = 'DiagnosticOk',
    RunbridgeError = 'DiagnosticError',
    RunbridgeInterrupted = 'DiagnosticWarn',
  }) do
    api.nvim_set_hl(0, name, { link = link, default = true })
  end
end

---@param session string
---@return string
function M.buf_name(session)
  return 'runbridge://output/' .. session
end

---@param session string
---@return runbridge.OutputTerm
local function create(session)
  local buf = api.nvim_create_buf(false, true)
  local chan = api.nvim_open_term(buf, {
    on_input = function(_, _, _, data)
      -- Ctrl-C in the output terminal interrupts the session's run
      if type(data) == 'string' and data:find('\3', 1, true) then
        vim.schedule(function()
          require('runbridge').interrupt(session)
        end)
      end
    end,
  })
  pcall(api.nvim_buf_set_name, buf, M.buf_name(session))
  vim.bo[buf].bufhidden = 'hide'
  local term
  term = {
    buf = buf,
    chan = chan,
    pacer = Pacer.new(function(text)
      if api.nvim_buf_is_valid(buf) then
        api.nvim_chan_send(chan, text)
      end
    end),
  }
  terms[session] = term
  api.nvim_create_autocmd('BufWipeout', {
    group = group,
    buffer = buf,
    callback = function()
      term.pacer:dispose()
      if terms[session] == term then
        terms[session] = nil
      end
    end,
  })
  return term
end

---@param session string
---@return runbridge.OutputTerm
local function get(session)
  local term = terms[session]
  if term and api.nvim_buf_is_valid(term.buf) then
    return term
  end
  return create(session)
end

--- The session's output buffer, or nil (no window change, nothing created).
---@param session string
---@return integer?
function M.buf(session)
  local term = terms[session]
  return term and api.nvim_buf_is_valid(term.buf) and term.buf or nil
end

--- The session's output buffer, created if needed.
---@param session string
---@return integer
function M.ensure(session)
  return get(session).buf
end

--- Writes terminal text (paced).
---@param session string
---@param text string
function M.write(session, text)
  if text == '' then
    return
  end
  local term = get(session)
  if term.clear_on_next then
    term.clear_on_next = false
    M.clear(session)
  end
  term.pacer:write(text)
end

--- Cuts a huge stdout/stderr text to the tail the pacer could keep (at a line start) and counts
--- the rest as skipped, so that a flood is not converted and copied only to be dropped.
---@param session string
---@param data string
---@return string
function M.pre_trim(session, data)
  local max = Pacer.defaults.max_pending
  if #data <= max then
    return data
  end
  local cut = data:find('\n', #data - max + 1, true) or (#data - max)
  local term = get(session)
  if term.clear_on_next then
    term.clear_on_next = false
    M.clear(session)
  end
  term.pacer:skip(cut)
  return data:sub(cut + 1)
end

--- Clears the session's output; with wait, when the next output arrives.
---@param session string
---@param wait? boolean
function M.clear(session, wait)
  local term = terms[session]
  if not term or not api.nvim_buf_is_valid(term.buf) then
    return
  end
  if wait then
    term.clear_on_next = true
    return
  end
  term.pacer:clear()
  api.nvim_chan_send(term.chan, '\27[2J\27[3J\27[H')
end

--- Writes everything waiting at once.
---@param session string
function M.flush(session)
  local term = terms[session]
  if term then
    term.pacer:flush_all()
  end
end

local function window_of(buf)
  for _, win in ipairs(api.nvim_tabpage_list_wins(0)) do
    if api.nvim_win_get_buf(win) == buf then
      return win
    end
  end
end

local function follow(win, buf)
  if api.nvim_get_current_win() ~= win then
    pcall(api.nvim_win_set_cursor, win, { api.nvim_buf_line_count(buf), 0 })
  end
end

--- Shows the session's output buffer in a split (reused when visible).
---@param session string
---@param focus? boolean move the cursor there (default false)
---@return integer bufnr, integer winid (-1 when no window could be opened)
function M.show(session, focus)
  local buf = M.ensure(session)
  local win = window_of(buf)
  if not win then
    local o = require('runbridge.config').get().output
    local prev = api.nvim_get_current_win()
    if api.nvim_win_get_config(prev).relative ~= '' then
      -- from a floating window: split the last normal window instead
      vim.cmd('wincmd p')
    end
    local ok, err = pcall(vim.cmd, ('%s %dsplit'):format(o.split, o.size))
    if not ok then
      vim.notify('runbridge: cannot open the output window: ' .. tostring(err), vim.log.levels.WARN)
      return buf, -1
    end
    win = api.nvim_get_current_win()
    api.nvim_win_set_buf(win, buf)
    vim.wo[win].number = false
    vim.wo[win].relativenumber = false
    vim.wo[win].signcolumn = 'no'
    vim.wo[win].winfixheight = true
    if not focus and api.nvim_win_is_valid(prev) then
      api.nvim_set_current_win(prev)
    end
  elseif focus then
    api.nvim_set_current_win(win)
  end
  follow(win, buf)
  return buf, win
end

--- Opens the output window when a run starts (output.open = 'on_run').
---@param session string
function M.show_on_run(session)
  if require('runbridge.config').get().output.open == 'on_run' then
    M.show(session, false)
  end
end

-- Inline status ---------------------------------------------------------------------------------

--- Sets (or updates) the status extmark at 0-based row; returns its id.
---@param buf integer
---@param row integer
---@param text string
---@param hl string
---@param id? integer
---@return integer?
function M.set_status(buf, row, text, hl, id)
  if not require('runbridge.config').get().virtual_text or not api.nvim_buf_is_valid(buf) then
    return nil
  end
  define_highlights()
  if id then
    local pos = api.nvim_buf_get_extmark_by_id(buf, M.status_ns, id, {})
    if pos and pos[1] then
      row = pos[1]
    end
  end
  row = math.min(row, api.nvim_buf_line_count(buf) - 1)
  local ok, mark = pcall(api.nvim_buf_set_extmark, buf, M.status_ns, row, 0, {
    id = id,
    virt_text = { { '  ' .. text, hl } },
    virt_text_pos = 'eol',
    hl_mode = 'combine',
    priority = 200,
  })
  return ok and mark or nil
end

--- Removes status marks on 0-based rows first..last.
---@param buf integer
---@param first integer
---@param last integer
function M.clear_status(buf, first, last)
  if not api.nvim_buf_is_valid(buf) then
    return
  end
  for _, m in ipairs(api.nvim_buf_get_extmarks(buf, M.status_ns, { first, 0 }, { last, -1 }, {})) do
    api.nvim_buf_del_extmark(buf, M.status_ns, m[1])
  end
end

return M
