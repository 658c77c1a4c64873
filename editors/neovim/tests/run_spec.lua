-- Sending code: a line, a range, a linewise and a charwise selection, an operator, cells, a file.
-- Each test checks what reached the real kernel through the output buffer's text, so that code
-- sent wrongly (whole lines instead of the selection, the wrong cell) shows up as wrong output.
local T = ...

T.setup()

--- Number of output lines of session `name` that are exactly `text`.
local function count_line(text, name)
  local n = 0
  for _, line in ipairs(T.lines(T.out_buf(name))) do
    if vim.trim(line) == text then
      n = n + 1
    end
  end
  return n
end

local has_line = T.has_line

T.test('run_line: runs the current line into a terminal output buffer, with header, footer and cursor move', function()
  local src = T.scratch({ "print('line-' + 'one')", '', "print('line-' + 'two')" })
  vim.api.nvim_win_set_cursor(0, { 1, 0 })
  local footer, new = T.run_wait(function()
    T.rb().run_line()
  end, 'default', 30000)

  local out = T.out_buf('default')
  T.ok(out and vim.api.nvim_buf_is_valid(out), 'output_buf("default") returns a valid buffer')
  T.eq('terminal', vim.bo[out].buftype, 'output buffer buftype')
  T.contains(vim.api.nvim_buf_get_name(out), 'runbridge://output/default', 'output buffer name')

  T.ok(footer:find('^✓ finished in %d'), 'footer "✓ finished in N ms", got ' .. footer)
  T.contains(new, "── In [default] print('line-' + 'one') ──", 'run header')
  T.ok(has_line(new, 'line-one'), 'the printed text is an output line:\n' .. new)
  T.not_contains(new, 'line-two', 'only the current line ran')

  -- The cursor stays in the source buffer and moves to the next non-blank line.
  T.eq(src, vim.api.nvim_get_current_buf(), 'focus stays in the source buffer')
  T.eq(3, vim.api.nvim_win_get_cursor(0)[1], 'cursor moved past the blank line')

  -- Inline status on the line that ran.
  T.wait_for(function()
    return T.status_at(src, 0):find('✓')
  end, 5000, '"✓" status extmark on line 1', function()
    return vim.inspect(T.status_marks(src))
  end)

  local footer2, new2 = T.run_wait(function()
    T.rb().run_line()
  end)
  T.ok(footer2:find('^✓ finished in'), footer2)
  T.ok(has_line(new2, 'line-two'), 'second run_line ran line 3:\n' .. new2)
  T.eq(1, count_line('line-one'), 'line 1 ran once')
  T.wait_for(function()
    return T.status_at(src, 2):find('✓')
  end, 5000, '"✓" status extmark on line 3', function()
    return vim.inspect(T.status_marks(src))
  end)
end)

T.test('run_range: runs exactly lines l1..l2 and marks the last line', function()
  local src = T.scratch({ "print('NOT-' + '1')", 'r = 6 * 7', "print('range', r)", "print('NOT-' + '4')" })
  local footer, new = T.run_wait(function()
    T.rb().run_range(src, 2, 3)
  end)
  T.ok(footer:find('^✓'), footer)
  T.ok(has_line(new, 'range 42'), 'lines 2-3 ran:\n' .. new)
  T.not_contains(new, 'NOT-1')
  T.not_contains(new, 'NOT-4')
  T.contains(new, '── In [default] r = 6 * 7', 'header shows the first line of the code')
  T.wait_for(function()
    return T.status_at(src, 2):find('✓')
  end, 5000, 'status extmark at the last line of the range (row 2)', function()
    return vim.inspect(T.status_marks(src))
  end)
end)

T.test('run_selection: a linewise selection runs its whole lines only', function()
  T.scratch({ "print('NOT-' + 'A')", "sel = 'l' + 'w'", "print('linewise', sel)", "print('NOT-' + 'B')" })
  vim.cmd([[execute "normal! 2GVj\<Esc>"]])
  local footer, new = T.run_wait(function()
    T.rb().run_selection()
  end)
  T.ok(footer:find('^✓'), footer)
  T.ok(has_line(new, 'linewise lw'), 'lines 2-3 ran:\n' .. new)
  T.not_contains(new, 'NOT-A')
  T.not_contains(new, 'NOT-B')
end)

T.test('run_selection: a charwise selection of part of a line runs exactly the selected text', function()
  local first = "print('sel-' + 'A')"
  T.scratch({ first .. "; print('NOT-' + 'SELECTED')" })
  vim.cmd(([[execute "normal! 1G0v%dl\<Esc>"]]):format(#first - 1))
  local footer, new = T.run_wait(function()
    T.rb().run_selection()
  end)
  T.ok(footer:find('^✓'), footer)
  T.ok(has_line(new, 'sel-A'), 'the selected statement ran:\n' .. new)
  T.not_contains(new, 'NOT-SELECTED', 'text after the selection was not sent')
  -- The header shows the code as sent: exactly the selected text, no " …" (one line).
  T.contains(new, "── In [default] print('sel-' + 'A') ──", 'header of the selected code')
end)

T.test('run_selection: a charwise selection across lines starts and ends at the selected columns', function()
  -- Whole lines would raise NameError for undefined_one / undefined_two.
  local l1 = "undefined_one; val = 'x' + 'y'"
  local l2 = "print('charwise', val); undefined_two"
  T.scratch({ l1, l2 })
  local c1 = l1:find('val', 1, true)
  local c2 = l2:find(')', 1, true)
  vim.cmd(([[execute "normal! 1G%d|v2G%d|\<Esc>"]]):format(c1, c2))
  local footer, new = T.run_wait(function()
    T.rb().run_selection()
  end)
  T.ok(has_line(new, 'charwise xy'), 'the selected code ran:\n' .. new)
  T.not_contains(new, 'NameError', 'nothing outside the selection ran')
  T.ok(footer:find('^✓ finished'), 'clean finish, got ' .. footer)
  T.contains(new, "── In [default] val = 'x' + 'y' …", 'header starts at the selected column')
end)

T.test('run_operator: g@ with a motion runs the moved-over lines', function()
  T.scratch({ "print('NOT-' + 'OP')", "op = 'mo' + 'tion'", "print('operator', op)" })
  vim.o.operatorfunc = "v:lua.require'runbridge'.run_operator"
  vim.api.nvim_win_set_cursor(0, { 2, 0 })
  local footer, new = T.run_wait(function()
    vim.cmd('normal! g@j')
  end)
  T.ok(footer:find('^✓'), footer)
  T.ok(has_line(new, 'operator motion'), 'lines 2-3 ran:\n' .. new)
  T.not_contains(new, 'NOT-OP')
end)

--- A buffer named as a file: the daemon syncs it (vim.lsp) and finds its cells.
local function file_buffer(name, lines)
  local buf = T.scratch(lines)
  vim.api.nvim_buf_set_name(buf, T.tmp .. '/' .. name)
  return buf
end

T.test('run_cell runs the cell under the cursor (cellAt); run_cell_next runs it and moves to the next cell', function()
  local src = file_buffer('cells.py', {
    '# %% first',
    "cell_a = 'A' * 2",
    "print('cell-one', cell_a)",
    '# %% second',
    "print('cell-' + 'two')",
  })
  vim.api.nvim_win_set_cursor(0, { 2, 0 })
  local footer, new = T.run_wait(function()
    T.rb().run_cell()
  end)
  T.ok(footer:find('^✓'), footer)
  T.ok(has_line(new, 'cell-one AA'), 'first cell ran:\n' .. new)
  T.not_contains(new, 'cell-two', 'second cell did not run')
  T.eq(2, vim.api.nvim_win_get_cursor(0)[1], 'run_cell leaves the cursor where it was')
  T.wait_for(function()
    return T.status_at(src, 2):find('✓')
  end, 5000, 'status extmark at the last line of cell one (row 2)', function()
    return vim.inspect(T.status_marks(src))
  end)

  vim.api.nvim_win_set_cursor(0, { 3, 0 })
  local _, new2 = T.run_wait(function()
    T.rb().run_cell_next()
  end)
  T.ok(has_line(new2, 'cell-one AA'), 'run_cell_next ran the cell under the cursor:\n' .. new2)
  T.not_contains(new2, 'cell-two')
  local row = vim.api.nvim_win_get_cursor(0)[1]
  T.ok(row == 4 or row == 5, 'cursor moved into the next cell (line 4 or 5), got line ' .. row)

  local _, new3 = T.run_wait(function()
    T.rb().run_cell()
  end)
  T.ok(has_line(new3, 'cell-two'), 'second cell ran:\n' .. new3)
  T.not_contains(new3, 'cell-one', 'only the second cell ran')
  T.eq(2, count_line('cell-one AA'), 'cell one ran exactly twice')
  T.ok(vim.lsp.get_clients({ bufnr = src, name = 'runbridge' })[1], 'the buffer is synced with the daemon')
end)

T.test('run_above runs the cells above the cursor, in order, not the one under it', function()
  file_buffer('above.py', {
    "above = ['one']",
    '# %% second',
    "above.append('two')",
    '',
    '# %% third',
    "print('above:', '+'.join(above))",
  })
  vim.api.nvim_win_set_cursor(0, { 6, 0 })
  local before = #T.footers('default')
  T.rb().run_above()
  T.wait_for(function()
    return #T.footers('default') >= before + 2
  end, 20000, 'the footers of the two cells above', function()
    return T.out_text('default')
  end)
  T.eq(before + 2, #T.footers('default'), 'two runs, one per cell above')
  local _, new = T.run_wait(function()
    T.rb().run_cell()
  end)
  T.ok(has_line(new, 'above: one+two'), 'both cells above ran before the third:\n' .. new)

  -- a cell above that raises stops the ones after it
  file_buffer('above_error.py', {
    '# %% raises',
    'raise ValueError("stop here")',
    '# %% after',
    "print('NOT-' + 'REACHED')",
    '# %% cursor',
    "print('cursor-' + 'cell')",
  })
  vim.api.nvim_win_set_cursor(0, { 6, 0 })
  local f1 = T.run_wait(function()
    T.rb().run_above()
  end)
  T.ok(f1:find('^✗'), f1)
  local _, new2 = T.run_wait(function()
    T.rb().run_cell()
  end)
  T.ok(has_line(new2, 'cursor-cell'), new2)
  T.not_contains(T.out_text('default'), 'NOT-REACHED', 'the cell after the failing one did not run')
end)

T.test('run_cell in a buffer without a file name: a message, nothing runs', function()
  local notes = T.capture_notify()
  T.scratch({ '# %% a', "print('NOT-' + 'RUN')" })
  vim.api.nvim_win_set_cursor(0, { 2, 0 })
  T.rb().run_cell()
  T.wait_notified(notes, 'file name', 5000, 'a message that cells need a file name')
  T.not_contains(T.out_text('default'), 'NOT-RUN')
end)

T.test('run_file runs the whole buffer', function()
  T.scratch({ 'parts = []', "parts.append('fi')", "parts.append('le')", "print('whole', ''.join(parts))" })
  local footer, new = T.run_wait(function()
    T.rb().run_file()
  end)
  T.ok(footer:find('^✓'), footer)
  T.ok(has_line(new, 'whole file'), 'all four lines ran:\n' .. new)
end)
