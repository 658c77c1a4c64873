---@mod runbridge.traceback Where in the sent code an exception was raised (port of traceback.ts).
--- Frames of the sent code look like:
---   ipykernel / IPython >= 8.5   "Cell In[3], line 5"
---   IPython 8.0 - 8.4            "Input In [3], in <cell line: 1>()" then "----> 5 x / y"
---   IPython < 8                  "<ipython-input-3-9e16...> in <module>" then "----> 5 x / y"
---   Backend.AI / plain Python    '  File "<input>", line 5, in <module>' (also <string>, <stdin>)
--- The sent code is the outermost such frame; of its frames, the last within 1..line_count wins.
--- Only the last chained exception is read.

local M = {}

local PSEUDO = { ['<string>'] = true, ['<input>'] = true, ['<stdin>'] = true }
local SYNTAX_ERRORS = { SyntaxError = true, IndentationError = true, TabError = true }

---@param lines string[]
---@return {id: string, line: integer}[]
local function frames_of(lines)
  local frames = {}
  local pending -- a header waiting for its arrow line
  for _, line in ipairs(lines) do
    local arrow = pending and line:match('^%-+>%s*(%d+)')
    if arrow then
      table.insert(frames, { id = pending, line = tonumber(arrow) })
      pending = nil
    else
      if not line:match('^[%s%-]') then
        pending = nil
      end
      local id, n = line:match('^%s*Cell In%[(%d*)%], line (%d+)')
      if id then
        table.insert(frames, { id = 'cell ' .. id, line = tonumber(n) })
      else
        local file
        file, n = line:match('^%s*File "(<%a+>)", line (%d+)')
        if file and PSEUDO[file] then
          table.insert(frames, { id = file, line = tonumber(n) })
        else
          id, n = line:match('^%s*File "<ipython%-input%-(%d+)%-%x+>", line (%d+)')
          if id then
            table.insert(frames, { id = 'cell ' .. id, line = tonumber(n) })
          else
            id = line:match('^<ipython%-input%-(%d+)%-%x+> in ') or line:match('^Input In %[(%d*)%]')
            if id then
              pending = 'cell ' .. id
            end
          end
        end
      end
    end
  end
  return frames
end

---@class runbridge.ErrorLocation
---@field line integer 0-based line in the sent code
---@field message string "ename: evalue"

--- The line of the sent code where the error was raised, or nil.
---@param err {ename: string, evalue: string, traceback: string[]}
---@param line_count integer lines of the sent code
---@return runbridge.ErrorLocation?
function M.locate(err, line_count)
  local message = tostring(err.ename) .. ': ' .. tostring(err.evalue)
  local lines = {}
  for _, entry in ipairs(type(err.traceback) == 'table' and err.traceback or {}) do
    for piece in (tostring(entry) .. '\n'):gmatch('([^\n]*)\n') do
      table.insert(lines, (piece:gsub('\r$', '')))
    end
  end
  local last_chain = 0
  for i, l in ipairs(lines) do
    if l:find('Traceback (most recent call last)', 1, true) then
      last_chain = i
    end
  end
  if last_chain > 1 then
    lines = vim.list_slice(lines, last_chain)
  end
  local in_range = function(n)
    return n >= 1 and n <= line_count
  end
  local frames = frames_of(lines)
  if #frames > 0 then
    local sent = frames[1].id
    local last
    for _, f in ipairs(frames) do
      if f.id == sent and in_range(f.line) then
        last = f
      end
    end
    return last and { line = last.line - 1, message = message } or nil
  end
  if SYNTAX_ERRORS[err.ename] then
    local n = tonumber(tostring(err.evalue):match('%(.*, line (%d+)%)$'))
    if n and in_range(n) then
      return { line = n - 1, message = message }
    end
  end
  return nil
end

return M
