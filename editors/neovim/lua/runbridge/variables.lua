---@mod runbridge.variables :Runbridge variables: a session's variables (runbridge/variables) in a
--- floating window. The daemon reads them without touching the user's namespace or history.

local api = vim.api

local M = {}

--- The code of the daemon's Unsupported error ("not available for this kernel").
M.UNSUPPORTED = -32023

local HEADER = { 'name', 'type', 'size', 'value' }

--- Lines of an aligned table: a header row, then one row per variable.
---@param variables {name: string, type: string, value: string, size: string?}[]
---@return string[]
function M.lines(variables)
  local rows = { HEADER }
  for _, v in ipairs(variables) do
    local size = (type(v.size) == 'string') and v.size or ''
    local value = tostring(v.value or ''):gsub('\n', '\\n')
    rows[#rows + 1] = { tostring(v.name), tostring(v.type or ''), size, value }
  end
  local widths = { 0, 0, 0 }
  for _, row in ipairs(rows) do
    for i = 1, 3 do
      widths[i] = math.max(widths[i], vim.fn.strdisplaywidth(row[i]))
    end
  end
  local out = {}
  for _, row in ipairs(rows) do
    local parts = {}
    for i = 1, 3 do
      parts[i] = row[i] .. string.rep(' ', widths[i] - vim.fn.strdisplaywidth(row[i]))
    end
    parts[4] = row[4]
    out[#out + 1] = table.concat(parts, '  ')
  end
  return out
end

---@type integer? the window showing the variables
local win

--- Shows lines in a floating scratch window (q or <Esc> closes it); returns its buffer.
---@param title string
---@param lines string[]
---@return integer buf
local function float(title, lines)
  if win and api.nvim_win_is_valid(win) then
    api.nvim_win_close(win, true)
  end
  local buf = api.nvim_create_buf(false, true)
  vim.bo[buf].bufhidden = 'wipe'
  api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].filetype = 'runbridge-variables'
  local width = 20
  for _, l in ipairs(lines) do
    width = math.max(width, vim.fn.strdisplaywidth(l))
  end
  width = math.min(width, math.max(20, vim.o.columns - 4))
  local height = math.min(#lines, math.max(1, vim.o.lines - 6))
  win = api.nvim_open_win(buf, true, {
    relative = 'editor',
    width = width,
    height = height,
    row = math.max(0, math.floor((vim.o.lines - height) / 2) - 1),
    col = math.max(0, math.floor((vim.o.columns - width) / 2)),
    style = 'minimal',
    border = 'rounded',
    title = ' ' .. title .. ' ',
  })
  vim.wo[win].wrap = false
  for _, key in ipairs({ 'q', '<Esc>' }) do
    vim.keymap.set('n', key, '<Cmd>close<CR>', { buffer = buf, nowait = true, desc = 'runbridge: close' })
  end
  return buf
end

--- The buffer of the variables window, if it is open.
---@return integer?
function M.buf()
  if win and api.nvim_win_is_valid(win) then
    return api.nvim_win_get_buf(win)
  end
end

--- Asks the daemon for the session's variables and shows them.
---@param session string
function M.show(session)
  local client = require('runbridge.client')
  client.request('runbridge/variables', { session = session }, function(err, result)
    if err then
      if err.code == M.UNSUPPORTED then
        local msg = client.error_message(err)
        if not msg:find('not available', 1, true) then
          msg = ('variables of session %s: not available for this kernel (%s)'):format(session, msg)
        end
        vim.notify('runbridge: ' .. msg)
      else
        vim.notify(
          ('runbridge: variables of session %s: %s'):format(session, client.error_message(err)),
          vim.log.levels.ERROR
        )
      end
      return
    end
    local variables = type(result) == 'table' and type(result.variables) == 'table' and result.variables or {}
    local lines = #variables > 0 and M.lines(variables) or { '(no variables)' }
    if result.truncated == true then
      lines[#lines + 1] = ('(the first %d; the session has more)'):format(#variables)
    end
    float(('runbridge variables: %s'):format(session), lines)
  end)
end

return M
