-- Headless Neovim's own LSP client (vim.lsp.start, no plugin) against the real daemon: a
-- python buffer attached to it is synced by Neovim itself (didOpen, utf-8 positions); a run
-- through workspace/executeCommand defines names; completion and hover of the buffer come
-- from the kernel. Prints one JSON line: what the requests answered. Args: OUT file.
local out = arg[1]
local result = { log = {} }
local function finish()
  local f = assert(io.open(out, 'w'))
  f:write(vim.json.encode(result))
  f:close()
  vim.cmd('qall!')
end

local ok, err = pcall(function()
  local cmd = vim.json.decode(os.getenv('RB_TEST_CMD'))
  local dir = os.getenv('RB_TEST_TMP')
  local buf = vim.api.nvim_create_buf(true, false)
  vim.api.nvim_buf_set_name(buf, dir .. '/lang.py')
  vim.api.nvim_set_current_buf(buf)
  vim.bo[buf].filetype = 'python'
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, { 'x = "é"; kernel_only', 'add_things(1)' })
  local id = assert(vim.lsp.start({ name = 'runbridge', cmd = cmd, root_dir = dir }, { bufnr = buf }))
  local client = assert(vim.lsp.get_client_by_id(id))
  assert(vim.wait(30000, function()
    return client.initialized
  end, 50), 'the client never initialized')
  result.offset_encoding = client.offset_encoding
  result.completion_provider = client.server_capabilities.completionProvider
  local setup = "kernel_only_name_42 = 1\ndef add_things(a, b=1):\n    '''Add things up.'''\n    return a\n"
  local ran = client:request_sync('workspace/executeCommand', {
    command = 'runbridge.server.run',
    arguments = { { session = 'default', code = setup } },
  }, 120000, buf)
  result.run_status = ran and ran.result and ran.result.status
  -- the end of line 1 (past the last character: where insert mode's cursor would be), in
  -- the client's encoding (utf-8: bytes)
  local params = {
    textDocument = vim.lsp.util.make_text_document_params(buf),
    position = { line = 0, character = #'x = "é"; kernel_only' },
  }
  local labels, edit
  assert(vim.wait(60000, function() -- a fresh kernel's first completion loads jedi
    local answer = client:request_sync('textDocument/completion', params, 10000, buf)
    local items = answer and answer.result and answer.result.items or {}
    labels = vim.tbl_map(function(item)
      return item.label
    end, items)
    edit = items[1] and items[1].textEdit
    return #items > 0
  end, 250), 'no completion from the kernel')
  result.labels, result.text_edit = labels, edit
  vim.api.nvim_win_set_cursor(0, { 2, 3 })
  local hover = client:request_sync(
    'textDocument/hover',
    vim.lsp.util.make_position_params(0, client.offset_encoding),
    10000,
    buf
  )
  result.hover = hover and hover.result and hover.result.contents.value
  client:request_sync('shutdown', nil, 10000, buf)
  client:notify('exit', nil)
end)
if not ok then
  result.error = tostring(err)
end
finish()
