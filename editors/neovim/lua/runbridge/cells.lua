---@mod runbridge.cells Code cells delimited by marker lines (`# %%`), port of cells.ts.
--- Each marker line opens a cell that runs to the next marker line (exclusive) or the end.
--- The region before the first marker is a cell too (header = nil) when it holds a non-blank
--- line. A buffer without any marker line has no cells. All numbers are 0-based lines.

local M = {}

---@class runbridge.Cell
---@field header? integer the marker line, nil for the region before the first marker
---@field start integer first line of the cell's code
---@field finish integer exclusive end

local function is_blank(line)
  return line:match('^%s*$') ~= nil
end

--- The cells of a list of lines; {} when no line matches the marker.
---@param lines string[]
---@param marker string vim regex
---@return runbridge.Cell[]
function M.find(lines, marker)
  local re = vim.regex(marker)
  local headers = {}
  for i, line in ipairs(lines) do
    if re:match_str(line) then
      table.insert(headers, i - 1)
    end
  end
  if #headers == 0 then
    return {}
  end
  local cells = {}
  for i = 1, headers[1] do
    if not is_blank(lines[i]) then
      table.insert(cells, { header = nil, start = 0, finish = headers[1] })
      break
    end
  end
  for i, header in ipairs(headers) do
    table.insert(cells, { header = header, start = header + 1, finish = headers[i + 1] or #lines })
  end
  return cells
end

--- First line covered by a cell: its marker line, if it has one.
---@param cell runbridge.Cell
function M.top(cell)
  return cell.header or cell.start
end

--- The cell containing 0-based line.
---@param cells runbridge.Cell[]
---@param line integer
---@return runbridge.Cell?, integer?
function M.at(cells, line)
  for i, cell in ipairs(cells) do
    if M.top(cell) <= line and line < cell.finish then
      return cell, i
    end
  end
end

--- The cell's code range without trailing blank lines: 0-based start, exclusive end.
---@param lines string[]
---@param cell runbridge.Cell
---@return integer start, integer finish
function M.code_range(lines, cell)
  local finish = math.min(cell.finish, #lines)
  while finish > cell.start and is_blank(lines[finish]) do
    finish = finish - 1
  end
  return cell.start, finish
end

--- The cell's code, trailing blank lines removed (line N of the text is line start + N).
---@param lines string[]
---@param cell runbridge.Cell
---@return string
function M.text(lines, cell)
  local s, f = M.code_range(lines, cell)
  return table.concat(vim.list_slice(lines, s + 1, f), '\n')
end

--- The start of the cell after the one containing line (or of the first cell below it).
---@param cells runbridge.Cell[]
---@param line integer
---@return integer?
function M.next_start(cells, line)
  local _, i = M.at(cells, line)
  if i then
    return cells[i + 1] and cells[i + 1].start or nil
  end
  for _, cell in ipairs(cells) do
    if M.top(cell) > line then
      return cell.start
    end
  end
end

--- The cells of a buffer, with the marker for its filetype.
---@param bufnr integer
---@return runbridge.Cell[], string[]
function M.of_buffer(bufnr)
  local lines = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
  local marker = require('runbridge.config').marker_for(vim.bo[bufnr].filetype)
  return M.find(lines, marker), lines
end

return M
