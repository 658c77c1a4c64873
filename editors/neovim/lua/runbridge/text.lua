---@mod runbridge.text Console records as terminal text (port of the VS Code client's terminalText.ts).
--- Pure: no editor state. A terminal needs "\r\n" to start a new line at column 0.

local M = {}

M.CLEAR_OUTPUT_KIND = 'application/x-runbridge-clear-output'

local DIM = '\27[2m'
local UNDIM = '\27[22m'
local RED = '\27[31m'
local GREEN = '\27[32m'
local YELLOW = '\27[33m'
local DEFAULT_FG = '\27[39m'

--- '\n' not preceded by '\r' becomes '\r\n'; '\r\n', lone '\r' and ANSI escapes are kept.
---@param text string
---@return string
function M.to_terminal(text)
  if not text:find('\r', 1, true) then
    return (text:gsub('\n', '\r\n')) -- the common case, and faster
  end
  return (text:gsub('\r?\n', '\r\n'))
end

--- Kinds saved as media files rather than shown as text.
---@param kind string
function M.is_media_kind(kind)
  return vim.startswith(kind, 'image/') or kind == 'text/html'
end

--- Control characters removed, so text from the wire cannot drive the terminal.
---@param s string
---@return string
function M.printable(s)
  s = s:gsub('[%z\1-\31\127]', ' ')
  s = s:gsub('\194[\128-\159]', ' ')
  return s
end

---@param s string
function M.note(s)
  return DIM .. '[' .. M.printable(s) .. ']' .. UNDIM .. '\r\n'
end

local function as_lines(text)
  local t = M.to_terminal(text)
  if t == '' or vim.endswith(t, '\n') then
    return t
  end
  return t .. '\r\n'
end

--- "512 B", "12.3 KB", "4.0 MB" (powers of 1024).
---@param bytes number
---@return string
function M.human_size(bytes)
  if bytes < 1024 then
    return string.format('%d B', bytes)
  end
  local units = { 'KB', 'MB', 'GB', 'TB' }
  local value, unit = bytes / 1024, 1
  while value >= 1024 and unit < #units do
    value = value / 1024
    unit = unit + 1
  end
  return string.format('%.1f %s', value, units[unit])
end

--- Decoded size of a data:...;base64, URI; else the byte length of the text.
---@param data string
---@return integer
function M.data_uri_bytes(data)
  local prefix = data:match('^[dD][aA][tT][aA]:[^,]*;[bB][aA][sS][eE]64,')
  if not prefix then
    return #data
  end
  local b64 = data:sub(#prefix + 1):gsub('%s+', '')
  local padding = vim.endswith(b64, '==') and 2 or vim.endswith(b64, '=') and 1 or 0
  return math.max(0, math.floor(#b64 * 3 / 4) - padding)
end

---@class runbridge.RenderedRecord
---@field text string what to write to the terminal (may be '')
---@field media? {kind: string, data: string}
---@field clear? boolean
---@field wait? boolean

--- JSON text re-indented by two spaces (as JSON.stringify(v, null, 2) lays it out), keys in
--- their original order; text that is not valid JSON (or is over 1 MB) comes back unchanged.
---@param data string
---@return string
function M.pretty_json(data)
  if #data > 1024 * 1024 or not pcall(vim.json.decode, data) then
    return data
  end
  local out, depth, i, n = {}, 0, 1, #data
  local function nl()
    return '\n' .. string.rep('  ', depth)
  end
  while i <= n do
    local ch = data:sub(i, i)
    if ch == '"' then
      local j = i + 1
      while j <= n do
        local c = data:sub(j, j)
        if c == '\\' then
          j = j + 2
        elseif c == '"' then
          break
        else
          j = j + 1
        end
      end
      out[#out + 1] = data:sub(i, j)
      i = j + 1
    elseif ch == '{' or ch == '[' then
      local close = ch == '{' and '}' or ']'
      local k = data:find('%S', i + 1) or n + 1
      if data:sub(k, k) == close then
        out[#out + 1] = ch .. close
        i = k + 1
      else
        depth = depth + 1
        out[#out + 1] = ch .. nl()
        i = i + 1
      end
    elseif ch == '}' or ch == ']' then
      depth = depth - 1
      out[#out + 1] = nl() .. ch
      i = i + 1
    elseif ch == ',' then
      out[#out + 1] = ',' .. nl()
      i = i + 1
    elseif ch == ':' then
      out[#out + 1] = ': '
      i = i + 1
    elseif ch:match('%s') then
      i = i + 1
    else
      local j = data:find('[%s,:%]}]', i) or n + 1
      out[#out + 1] = data:sub(i, j - 1)
      i = j
    end
  end
  return table.concat(out)
end

--- One console record as terminal text.
---@param kind string
---@param data string
---@return runbridge.RenderedRecord
function M.render_record(kind, data)
  if type(data) ~= 'string' then
    data = type(data) == 'table' and vim.json.encode(data) or tostring(data)
  end
  if kind == 'stdout' then
    return { text = M.to_terminal(data) }
  end
  if kind == 'stderr' then
    local text = M.to_terminal(data)
    if data:find('\27', 1, true) or text == '' then
      return { text = text }
    end
    return { text = RED .. text .. DEFAULT_FG }
  end
  if kind == M.CLEAR_OUTPUT_KIND then
    local ok, parsed = pcall(vim.json.decode, data)
    return { text = '', clear = true, wait = ok and type(parsed) == 'table' and parsed.wait == true }
  end
  if M.is_media_kind(kind) then
    return {
      text = M.note(kind .. ' ' .. M.human_size(M.data_uri_bytes(data)) .. ' → media file'),
      media = { kind = kind, data = data },
    }
  end
  if kind == 'text/markdown' or kind == 'text/latex' then
    return { text = as_lines(data) }
  end
  if kind == 'application/json' then
    return { text = as_lines(M.pretty_json(data)) }
  end
  return { text = M.note(kind .. ' ' .. M.data_uri_bytes(data) .. ' bytes') }
end

--- s cut to width code points, with an ellipsis when longer.
local function truncate(s, width)
  if vim.fn.strchars(s) <= width then
    return s
  end
  return vim.fn.strcharpart(s, 0, math.max(0, width - 1)) .. '…'
end

--- "── In [label] first line of code ──" (dim), at most width code points, then "\r\n".
---@param label string
---@param code string
---@param width? integer
---@return string
function M.run_header(label, code, width)
  width = width or 80
  local first, count = nil, 0
  for line in (code .. '\n'):gmatch('([^\n]*)\n') do
    line = line:gsub('\r$', '')
    if vim.trim(line) ~= '' then
      count = count + 1
      first = first or line
    end
  end
  first = first or ''
  local more = count > 1 and ' …' or ''
  local head = '── In [' .. M.printable(label) .. '] '
  local tail = ' ──'
  local room = math.max(1, width - vim.fn.strchars(head) - vim.fn.strchars(tail))
  local shown = truncate(M.printable(vim.trim(first)) .. more, room)
  return DIM .. head .. shown .. tail .. UNDIM .. '\r\n'
end

--- "12 ms", "1.5 s", "2 min 5 s".
---@param ms number
---@return string
function M.format_duration(ms)
  if ms < 1000 then
    return string.format('%d ms', math.floor(ms + 0.5))
  end
  if ms < 60000 then
    return string.format('%.1f s', ms / 1000)
  end
  local s = math.floor(ms / 1000 + 0.5)
  return string.format('%d min %d s', math.floor(s / 60), s % 60)
end

--- The line closing a run (coloured), then "\r\n".
---@param status string
---@param exit_code? integer
---@param ms number
---@param message? string
---@return string
function M.run_footer(status, exit_code, ms, message)
  if exit_code == vim.NIL then
    exit_code = nil
  end
  if message == vim.NIL then
    message = nil
  end
  local took = M.format_duration(ms)
  local why = (message and message ~= '') and (': ' .. M.printable(message)) or ''
  local line
  if status == 'finished' and (exit_code == 0 or exit_code == nil) then
    line = GREEN .. '✓ finished in ' .. took
  elseif status == 'finished' then
    line = RED .. '✗ error (exit code ' .. tostring(exit_code) .. ') after ' .. took .. why
  elseif status == 'interrupted' then
    line = YELLOW .. '■ interrupted after ' .. took .. why
  elseif status == 'exec-timeout' then
    line = YELLOW .. '⏱ timed out after ' .. took .. why
  else
    line = RED .. '✗ ' .. M.printable(tostring(status)) .. (why ~= '' and why or (' after ' .. took))
  end
  return line .. DEFAULT_FG .. '\r\n'
end

--- Footer of a run shown from history: its end, and when it started (no duration is known).
---@param status string
---@param exit_code? integer|userdata
---@param started? number seconds since the epoch
---@return string
function M.history_footer(status, exit_code, started)
  if exit_code == vim.NIL then
    exit_code = nil
  end
  local at = started and (' (started ' .. os.date('%Y-%m-%d %H:%M:%S', math.floor(started)) .. ')') or ''
  local line
  if status == 'finished' and (exit_code == 0 or exit_code == nil) then
    line = GREEN .. '✓ finished' .. at
  elseif status == 'finished' then
    line = RED .. '✗ error (exit code ' .. tostring(exit_code) .. ')' .. at
  elseif status == 'interrupted' then
    line = YELLOW .. '■ interrupted' .. at
  elseif status == 'exec-timeout' then
    line = YELLOW .. '⏱ timed out' .. at
  else
    line = RED .. '✗ ' .. M.printable(tostring(status)) .. at
  end
  return line .. DEFAULT_FG .. '\r\n'
end

--- A red one-line message for the terminal.
---@param message string
function M.error_line(message)
  return RED .. 'runbridge: ' .. M.printable(message) .. DEFAULT_FG .. '\r\n'
end

return M
