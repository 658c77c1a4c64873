---@mod runbridge.documents Buffers synced with the daemon (vim.lsp attach), their session binding
--- (runbridge/documentBound, runbridge/bindDocument) and the code lenses the daemon computes.

local api = vim.api

local M = {}

---@type table<string, string> document uri -> the session the daemon bound it to
local bound = {}
---@type table<integer, string> buffer -> the session picked for it here (runbridge/bindDocument)
local picked = {}

local function client()
  return require('runbridge.client')
end

--- Whether a buffer can be a document of the daemon: a loaded buffer with a file name (LSP
--- addresses documents by uri) whose filetype is in `languages`.
---@param buf integer
---@return boolean
function M.eligible(buf)
  if not api.nvim_buf_is_valid(buf) or not api.nvim_buf_is_loaded(buf) then
    return false
  end
  local bt = vim.bo[buf].buftype
  if bt ~= '' and bt ~= 'nofile' and bt ~= 'acwrite' then
    return false
  end
  local name = api.nvim_buf_get_name(buf)
  if name == '' or name:match('^%a[%w+.-]*://') then
    return false
  end
  return require('runbridge.config').syncs(vim.bo[buf].filetype)
end

--- The buffer's uri as vim.lsp sends it.
---@param buf integer
---@return string
function M.uri(buf)
  return vim.uri_from_bufnr(buf)
end

--- Attaches the running client to the buffer (vim.lsp then sends didOpen and its changes).
--- Never starts the daemon. Returns whether the buffer is attached.
---@param buf integer
---@param c? vim.lsp.Client default: the running client
---@return boolean
function M.attach(buf, c)
  c = c or client().get()
  if not c or not M.eligible(buf) then
    return false
  end
  if c.attached_buffers[buf] then
    return true
  end
  return vim.lsp.buf_attach_client(buf, c.id)
end

--- Attaches every eligible loaded buffer (the client just started).
---@param c? vim.lsp.Client
function M.attach_all(c)
  for _, buf in ipairs(api.nvim_list_bufs()) do
    M.attach(buf, c)
  end
end

local group = api.nvim_create_augroup('runbridge_documents', { clear = true })

-- Buffers opened (or given a synced filetype or a name) while the client runs are attached.
api.nvim_create_autocmd({ 'FileType', 'BufReadPost', 'BufFilePost' }, {
  group = group,
  callback = function(ev)
    M.attach(ev.buf)
  end,
})

api.nvim_create_autocmd('BufWipeout', {
  group = group,
  callback = function(ev)
    picked[ev.buf] = nil
  end,
})

--- Refreshes the code lenses of the buffer (vim.lsp.codelens), when it is attached.
---@param buf integer
function M.refresh_lenses(buf)
  if not require('runbridge.config').get().codelens then
    return
  end
  local c = client().get()
  if not c or not c.attached_buffers[buf] or not api.nvim_buf_is_loaded(buf) then
    return
  end
  vim.lsp.codelens.refresh({ bufnr = buf })
end

-- Lenses follow the text: on attach, on entering the buffer and after edits outside insert mode.
api.nvim_create_autocmd('LspAttach', {
  group = group,
  callback = function(ev)
    local c = vim.lsp.get_client_by_id(ev.data.client_id)
    if not c or c.name ~= client().NAME then
      return
    end
    local buf = ev.buf
    if vim.b[buf].runbridge_lenses then
      M.refresh_lenses(buf)
      return
    end
    vim.b[buf].runbridge_lenses = true
    api.nvim_create_autocmd({ 'BufEnter', 'InsertLeave', 'TextChanged' }, {
      group = group,
      buffer = buf,
      callback = function()
        M.refresh_lenses(buf)
      end,
    })
    M.refresh_lenses(buf)
  end,
})

--- runbridge/documentBound handler: the session the daemon answers this document from.
---@param params {uri: string, session: string}
function M.on_bound(_, params)
  if type(params) ~= 'table' or type(params.uri) ~= 'string' or type(params.session) ~= 'string' then
    return
  end
  bound[params.uri] = params.session
  vim.cmd('redrawstatus')
end

--- The session the daemon bound the buffer's document to, if it said.
---@param buf integer
---@return string?
function M.bound_session(buf)
  if not api.nvim_buf_is_valid(buf) or api.nvim_buf_get_name(buf) == '' then
    return nil
  end
  return bound[M.uri(buf)]
end

--- The session picked for the buffer here, if any.
---@param buf integer
---@return string?
function M.picked_session(buf)
  return picked[buf]
end

--- Binds the buffer's document to a session (runbridge/bindDocument): its completion, hover,
--- variables and runs use that session. A buffer the daemon does not sync is only remembered
--- here (its runs go to that session).
---@param buf integer
---@param session string
function M.bind(buf, session)
  picked[buf] = session
  if not M.eligible(buf) then
    return
  end
  -- the client may be starting (the first command): attach now, didOpen follows its start
  local c = client().ensure()
  if not c or not M.attach(buf, c) then
    return
  end
  local uri = M.uri(buf)
  client().request('runbridge/bindDocument', { uri = uri, session = session }, function(err, result)
    if err then
      vim.notify('runbridge: ' .. client().error_message(err), vim.log.levels.ERROR)
      return
    end
    if type(result) == 'table' and type(result.session) == 'string' then
      bound[uri] = result.session
      vim.cmd('redrawstatus')
    end
  end)
end

--- The daemon exited: its bindings are gone.
function M.reset()
  bound = {}
end

return M
