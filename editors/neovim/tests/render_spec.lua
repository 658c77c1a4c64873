-- How results are shown: ANSI colours rendered as terminal cell attributes, the inline status
-- extmark going from 'running' to '✓', and an exception as an inline '✗' plus one ERROR
-- diagnostic on the line that raised it (the daemon's, through vim.lsp), cleared by the next
-- good run of those lines.
local T = ...

T.setup()

local function line_index(buf, text)
  for i, line in ipairs(T.lines(buf)) do
    if vim.trim(line) == text then
      return i
    end
  end
end

T.test('ANSI colours: escapes are not in the text, and the red cells are drawn red by the terminal', function()
  T.scratch({ [[print('\x1b[31mRED\x1b[0m plain')]] })
  local footer = T.run_wait(function()
    T.rb().run_line()
  end)
  T.ok(footer:find('^✓'), footer)
  local out = T.out_buf('default')
  local lines = T.lines(out)
  local i = line_index(out, 'RED plain')
  T.ok(i, 'a line reads "RED plain":\n' .. table.concat(lines, '\n'))
  for n, line in ipairs(lines) do
    T.ok(not line:find('\27', 1, true), ('line %d holds a raw escape byte: %q'):format(n, line))
  end

  -- Show that line in a window of its own and read the drawn screen cells: the terminal's
  -- colours are attributes of the grid (no extmark, no syntax item carries them).
  vim.cmd('tab sbuffer ' .. out)
  local win = vim.api.nvim_get_current_win()
  vim.api.nvim_win_set_cursor(win, { i, 0 })
  vim.cmd('normal! zt')
  vim.cmd('redraw!')
  local col0 = (lines[i]:find('RED', 1, true))
  local pos = vim.fn.screenpos(win, i, col0)
  T.ok(pos.row > 0, 'the line is on screen: ' .. vim.inspect(pos))
  local red = vim.api.nvim__inspect_cell(1, pos.row - 1, pos.col - 1)
  local plainpos = vim.fn.screenpos(win, i, (lines[i]:find('plain', 1, true)))
  local plain = vim.api.nvim__inspect_cell(1, plainpos.row - 1, plainpos.col - 1)
  vim.cmd('tabclose')
  T.log('cell "R":', red[1], red[2], ' cell "p":', plain[1], plain[2])

  T.eq('R', red[1], 'screen cell at the start of "RED"')
  T.eq('p', plain[1], 'screen cell at the start of "plain"')
  local fg = red[2] and red[2].foreground
  T.ok(type(fg) == 'number', '"R" has a foreground colour: ' .. vim.inspect(red[2]))
  local r, g, b = math.floor(fg / 65536) % 256, math.floor(fg / 256) % 256, fg % 256
  T.ok(r >= 0x80 and g < 0x60 and b < 0x60, ('"R" is drawn red, got #%06x'):format(fg))
  local pfg = plain[2] and plain[2].foreground
  T.ok(pfg == nil or pfg ~= fg, '"plain" (after \\x1b[0m) is not red: ' .. vim.inspect(plain[2]))
end)

T.test("inline status: 'running' at the range's last line while it runs, then '✓' and a duration", function()
  local src = T.scratch({ 'import time', "time.sleep(1.5); print('slept')" })
  local before = #T.footers('default')
  T.rb().run_range(src, 1, 2)
  T.wait_for(function()
    return T.status_at(src, 1):find('running', 1, true)
  end, 10000, "'running' status extmark on row 1", function()
    return vim.inspect(T.status_marks(src))
  end)
  T.eq(before, #T.footers('default'), 'no footer yet while running')
  T.wait_for(function()
    return #T.footers('default') > before
  end, 15000, 'the footer')
  local text = T.wait_for(function()
    local s = T.status_at(src, 1)
    return s:find('✓') and s
  end, 5000, "'✓' status on row 1", function()
    return vim.inspect(T.status_marks(src))
  end)
  T.ok(not text:find('running', 1, true), "'running' was replaced: " .. text)
  T.ok(text:find('%d'), 'the status shows a duration: ' .. text)
  for _, m in ipairs(T.status_marks(src)) do
    T.eq(1, m.row, 'status marks only on the last line of the range')
  end
  T.wait_output('slept')
end)

--- A buffer named as a file: the daemon's diagnostics (LSP) are addressed to a document's uri.
local function file_buffer(name, lines)
  local buf = T.scratch(lines)
  vim.api.nvim_buf_set_name(buf, T.tmp .. '/' .. name)
  return buf
end

--- The diagnostics of `buf` that the runbridge client received (textDocument/publishDiagnostics).
local function runbridge_diags(buf)
  local ns = vim.lsp.diagnostic.get_namespace(T.rb().client().id)
  return vim.diagnostic.get(buf, { namespace = ns })
end

T.test('an exception: ✗ footer, "✗ ZeroDivisionError" status and one ERROR diagnostic on the raising line; the next good run clears it', function()
  local src = file_buffer('render_exception.py', {
    "print('NOT-' + 'BEFORE')",
    'a = 1',
    'b = a / 0',
    "print('NOT-' + 'AFTER')",
  })
  local footer, new = T.run_wait(function()
    T.rb().run_range(src, 2, 4)
  end)
  T.ok(footer:find('^✗'), 'footer starts with ✗, got ' .. footer)
  T.contains(new, 'ZeroDivisionError', 'the traceback is in the output')
  T.not_contains(new, 'NOT-BEFORE')
  T.not_contains(new, 'NOT-AFTER', 'execution stopped at the exception')

  local diags = T.wait_for(function()
    local d = runbridge_diags(src)
    return #d > 0 and d
  end, 5000, 'a diagnostic from the runbridge client')
  T.eq(1, #diags, 'one diagnostic: ' .. vim.inspect(diags))
  T.eq(vim.diagnostic.severity.ERROR, diags[1].severity, 'severity')
  T.eq(2, diags[1].lnum, '0-based line of "b = a / 0" (range starts at line 2, error on its line 2)')
  T.eq(0, diags[1].col, 'from the start of the line')
  T.eq(#'b = a / 0', diags[1].end_col, 'to its end')
  T.eq('ZeroDivisionError: division by zero', diags[1].message, 'message')
  T.eq('runbridge', diags[1].source, 'source')
  T.eq(nil, vim.api.nvim_get_namespaces()['runbridge'], 'the plugin sets no diagnostics of its own')

  local status = T.wait_for(function()
    local s = T.status_at(src, 3)
    return s:find('✗') and s
  end, 5000, "'✗' status at the last line of the range", function()
    return vim.inspect(T.status_marks(src))
  end)
  T.contains(status, 'ZeroDivisionError', 'status names the exception')

  -- fixed and run again over the same lines: the diagnostic goes
  vim.api.nvim_buf_set_lines(src, 2, 3, false, { 'b = a / 1' })
  footer = T.run_wait(function()
    T.rb().run_range(src, 2, 3)
  end)
  T.ok(footer:find('^✓'), footer)
  T.wait_for(function()
    return #runbridge_diags(src) == 0
  end, 5000, 'the diagnostic cleared', function()
    return vim.inspect(runbridge_diags(src))
  end)
end)

T.test('an exception inside a function: the diagnostic is on the line that raised, in the sent code', function()
  local src = file_buffer('render_function.py', {
    "print('header line, not sent')",
    'def f(x):',
    '    return x / 0',
    '',
    'f(1)',
  })
  local footer = T.run_wait(function()
    T.rb().run_range(src, 2, 5)
  end)
  T.ok(footer:find('^✗'), footer)
  local diags = T.wait_for(function()
    local d = runbridge_diags(src)
    return #d > 0 and d
  end, 5000, 'a diagnostic from the runbridge client')
  T.eq(1, #diags, 'one diagnostic: ' .. vim.inspect(diags))
  T.eq(2, diags[1].lnum, '0-based line of "return x / 0" (innermost frame of the sent code)')
  T.eq(4, diags[1].col, 'from its first non-blank character')
  T.eq('ZeroDivisionError: division by zero', diags[1].message)
end)

T.test('a buffer without a name: no diagnostic (LSP addresses files), the ✗ status still shows', function()
  local src = T.scratch({ 'a = 1', 'b = a / 0' })
  local footer = T.run_wait(function()
    T.rb().run_range(src, 1, 2)
  end)
  T.ok(footer:find('^✗'), footer)
  T.wait_for(function()
    return T.status_at(src, 1):find('✗')
  end, 5000, "'✗' status on row 1")
  T.eq(0, #vim.diagnostic.get(src), 'no diagnostic: ' .. vim.inspect(vim.diagnostic.get(src)))
end)
