-- The daemon as a language server for the buffers it runs: vim.lsp syncs them, and completion
-- (omnifunc), hover (vim.lsp.buf.hover), code lenses (vim.lsp.codelens) and :Runbridge variables
-- answer from the live kernel; documentBound / bindDocument give a buffer its session.
local T = ...

T.setup()

local has_line = T.has_line

--- A buffer named as a file: the daemon syncs it (vim.lsp) and addresses it by uri.
local function file_buffer(name, lines)
  local buf = T.scratch(lines)
  vim.api.nvim_buf_set_name(buf, T.tmp .. '/' .. name)
  return buf
end

local function attached(buf)
  return vim.lsp.get_clients({ bufnr = buf, name = 'runbridge' })[1] ~= nil
end

--- Floating windows' buffer texts.
local function float_texts()
  local texts = {}
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(win).relative ~= '' then
      texts[#texts + 1] = table.concat(vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(win), 0, -1, false), '\n')
    end
  end
  return texts
end

local function close_floats()
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(win).relative ~= '' then
      vim.api.nvim_win_close(win, true)
    end
  end
end

local function float_with(needle)
  for _, t in ipairs(float_texts()) do
    if t:find(needle, 1, true) then
      return t
    end
  end
end

T.test('omnifunc offers a name that exists only in the kernel', function()
  local src = file_buffer('complete.py', { 'kernel_only_name_42 = 1', '' })
  local footer = T.run_wait(function()
    T.rb().run_range(src, 1, 1)
  end, 'default', 30000)
  T.ok(footer:find('^✓'), footer)
  T.wait_for(function()
    return attached(src)
  end, 5000, 'the runbridge client attached to the buffer')
  T.eq('v:lua.vim.lsp.omnifunc', vim.bo[src].omnifunc, 'vim.lsp set the omnifunc')

  vim.api.nvim_buf_set_lines(src, 1, 2, false, { 'print(kernel_only_na' })
  vim.api.nvim_win_set_cursor(0, { 2, 0 })
  -- A fresh kernel's first completions load jedi and come back empty (the daemon does not
  -- wait past its budget): ask until the kernel answers, as a user typing on would.
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(src) },
    position = { line = 1, character = #'print(kernel_only_na' },
  }
  T.wait_for(function()
    local answers = vim.lsp.buf_request_sync(src, 'textDocument/completion', params, 10000) or {}
    for _, answer in pairs(answers) do
      if answer.result and #(answer.result.items or {}) > 0 then
        return true
      end
    end
  end, 60000, 'a completion from the kernel')
  -- Insert mode at the end of line 2, <C-x><C-o>, then (still in Insert mode, through <Cmd>)
  -- wait for the popup menu the asynchronous omnifunc fills, and leave.
  local info
  _G.rb_wait_items = function()
    vim.wait(10000, function()
      local ci = vim.fn.complete_info({ 'items', 'pum_visible' })
      if #ci.items > 0 then
        info = ci
        return true
      end
      return false
    end, 20)
  end
  vim.api.nvim_feedkeys(vim.keycode('A<C-x><C-o><Cmd>lua _G.rb_wait_items()<CR><C-e><Esc>'), 'tx', false)
  T.ok(info, 'the omnifunc offered items')
  local words = vim.tbl_map(function(item)
    return item.word
  end, info.items)
  T.ok(vim.tbl_contains(words, 'kernel_only_name_42'), 'kernel_only_name_42 offered: ' .. vim.inspect(words))
end)

--- Calls `ask` (a vim.lsp.buf request) until a floating window holds `text`, asking again
--- every 2 s (a kernel that answers past the daemon's budget gives an empty answer).
local function float_asked(ask, text, what)
  local asked = T.now()
  ask()
  return T.wait_for(function()
    local found = float_with(text)
    if not found and T.now() - asked > 2000 then
      asked = T.now()
      ask()
    end
    return found
  end, 20000, what, function()
    return vim.inspect(float_texts())
  end)
end

T.test('hover (vim.lsp.buf.hover) shows the docstring of a function a run defined; signature help its parameters', function()
  local src = file_buffer('hover.py', {
    'def documented_fn(count):',
    '    """Docstring known only to the kernel: 4217."""',
    '    return count',
    '',
    'documented_fn(1)',
  })
  local footer = T.run_wait(function()
    T.rb().run_range(src, 1, 3)
  end)
  T.ok(footer:find('^✓'), footer)
  vim.api.nvim_win_set_cursor(0, { 5, 3 })
  local text = float_asked(vim.lsp.buf.hover, '4217', 'a hover window with the docstring')
  T.contains(text, 'Docstring known only to the kernel: 4217.')
  T.contains(text, 'documented_fn', 'the signature is shown')
  close_floats()

  -- signature help inside the call's parentheses: the callee's parameters
  vim.api.nvim_win_set_cursor(0, { 5, #'documented_fn(' })
  local sig = float_asked(vim.lsp.buf.signature_help, 'count', 'a signature help window naming the parameter')
  T.contains(sig, 'documented_fn(count)')
  close_floats()
end)

T.test('vim.lsp.codelens shows Run Cell / Run Above on the marker lines; running a lens runs that cell', function()
  local src = file_buffer('lenses.py', {
    '# %% one',
    "lens_value = 'lens-' + 'one'",
    '# %% two',
    "print('lens-cell-two', lens_value)",
  })
  T.wait_for(function()
    return attached(src)
  end, 5000, 'the runbridge client attached to the buffer')
  vim.lsp.codelens.refresh({ bufnr = src })
  local lenses = T.wait_for(function()
    local l = vim.lsp.codelens.get(src)
    return #l >= 3 and l
  end, 10000, 'three code lenses', function()
    return vim.inspect(vim.lsp.codelens.get(src))
  end)
  local by_line = {}
  for _, lens in ipairs(lenses) do
    local line = lens.range.start.line
    by_line[line] = by_line[line] or {}
    table.insert(by_line[line], lens.command and lens.command.title)
    table.sort(by_line[line])
  end
  T.eq({ [0] = { 'Run Cell' }, [2] = { 'Run Above', 'Run Cell' } }, by_line, 'lenses per line')

  -- the lenses of line 1 (0-based 0) then of line 3 through vim.lsp.codelens.run (vim.ui.select
  -- picks "Run Cell" where there are two)
  local orig = vim.ui.select
  vim.ui.select = function(items, opts, on_choice)
    for i, item in ipairs(items) do
      local label = opts.format_item and opts.format_item(item) or tostring(item)
      if label:find('Run Cell', 1, true) then
        return on_choice(item, i)
      end
    end
    on_choice(nil)
  end
  local ok, err = pcall(function()
    vim.api.nvim_win_set_cursor(0, { 1, 0 })
    local footer = T.run_wait(function()
      vim.lsp.codelens.run()
    end)
    T.ok(footer:find('^✓'), footer)
    vim.api.nvim_win_set_cursor(0, { 3, 0 })
    local footer2, new = T.run_wait(function()
      vim.lsp.codelens.run()
    end)
    T.ok(footer2:find('^✓'), footer2)
    T.ok(has_line(new, 'lens-cell-two lens-one'), 'the second cell ran after the first:\n' .. new)
  end)
  vim.ui.select = orig
  T.ok(ok, err)
  T.wait_for(function()
    return T.status_at(src, 3):find('✓')
  end, 5000, 'the status mark at the end of the cell')
end)

T.test(':Runbridge variables lists the session variables in a floating window', function()
  local src = file_buffer('vars.py', { 'listed_variable_7 = [1, 2, 3]' })
  local footer = T.run_wait(function()
    T.rb().run_range(src, 1, 1)
  end)
  T.ok(footer:find('^✓'), footer)
  vim.cmd('Runbridge variables')
  local buf = T.wait_for(function()
    return require('runbridge.variables').buf()
  end, 10000, 'the variables window')
  local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
  T.ok(lines[1]:find('^name%s+type%s+size%s+value'), 'header row: ' .. lines[1])
  local row
  for _, l in ipairs(lines) do
    if l:find('^listed_variable_7%s') then
      row = l
    end
  end
  T.ok(row, 'a row for listed_variable_7:\n' .. table.concat(lines, '\n'))
  T.ok(row:find('%slist%s'), 'its type: ' .. row)
  T.ok(row:find('[1, 2, 3]', 1, true), 'its value: ' .. row)
  vim.api.nvim_set_current_win(vim.fn.bufwinid(buf))
  vim.cmd('normal q')
  T.eq(nil, require('runbridge.variables').buf(), 'q closes it')
end)

T.test("a buffer's session: documentBound on open, a run moves it, :Runbridge session binds it", function()
  local a = file_buffer('bind_a.py', { "print('bind-' + 'a')" })
  T.wait_for(function()
    return require('runbridge.documents').bound_session(a) == 'default'
  end, 10000, 'documentBound: default for a new buffer')
  T.ok(T.rb().statusline(a):find('^runbridge: default '), T.rb().statusline(a))

  -- :Runbridge session in buffer a: a is bound to 'bound-one' (bindDocument), which is current
  vim.cmd('Runbridge session bound-one')
  T.wait_for(function()
    return require('runbridge.documents').bound_session(a) == 'bound-one'
  end, 30000, "bindDocument: a is bound to 'bound-one'")
  T.ok(T.rb().statusline():find('^runbridge: bound%-one '), T.rb().statusline())

  -- b is opened bound to default; its first run goes to the current session, and so its binding
  local b = file_buffer('bind_b.py', { "print('bind-' + 'b')" })
  T.wait_for(function()
    return require('runbridge.documents').bound_session(b) == 'default'
  end, 10000, 'documentBound: default for b')
  local footer, new = T.run_wait(function()
    T.rb().run_range(b, 1, 1)
  end, 'bound-one', 30000)
  T.ok(footer:find('^✓'), footer)
  T.ok(has_line(new, 'bind-b'), new)
  T.wait_for(function()
    return require('runbridge.documents').bound_session(b) == 'bound-one'
  end, 10000, "documentBound: b follows its run to 'bound-one'")

  -- a picked session stays the buffer's after the current session changes elsewhere
  vim.api.nvim_set_current_buf(b)
  vim.cmd('Runbridge session default')
  T.wait_for(function()
    return require('runbridge.documents').bound_session(b) == 'default'
  end, 10000, "b bound to 'default'")
  local footer2, new2 = T.run_wait(function()
    T.rb().run_range(a, 1, 1)
  end, 'bound-one', 30000)
  T.ok(footer2:find('^✓'), footer2)
  T.ok(has_line(new2, 'bind-a'), "a's run went to its session 'bound-one':\n" .. new2)
  T.eq('bound-one', T.rb().buffer_session(a))
end)
