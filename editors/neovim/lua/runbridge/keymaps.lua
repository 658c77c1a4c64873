---@mod runbridge.keymaps Opt-in default keymaps: buffer-local, <localleader>-prefixed.

local api = vim.api

local M = {}

--- {mode, lhs (after <localleader>), rhs, desc}
M.maps = {
  { 'n', 'rl', '<Plug>(RunbridgeRunLine)', 'runbridge: run line' },
  { 'x', 'r', '<Plug>(RunbridgeRunSelection)', 'runbridge: run selection' },
  { 'n', 're', '<Plug>(RunbridgeRunOperator)', 'runbridge: run {motion}' },
  { 'n', 'rc', '<Plug>(RunbridgeRunCell)', 'runbridge: run cell' },
  { 'n', 'rn', '<Plug>(RunbridgeRunCellNext)', 'runbridge: run cell and move to the next' },
  { 'n', 'ra', '<Plug>(RunbridgeRunAbove)', 'runbridge: run the cells above' },
  { 'n', 'rv', '<Cmd>Runbridge variables<CR>', 'runbridge: variables' },
  { 'n', 'rf', '<Cmd>Runbridge file<CR>', 'runbridge: run file' },
  { 'n', 'ri', '<Cmd>Runbridge interrupt<CR>', 'runbridge: interrupt' },
  { 'n', 'rR', '<Cmd>Runbridge restart<CR>', 'runbridge: restart' },
  { 'n', 'ro', '<Cmd>Runbridge output<CR>', 'runbridge: show output' },
  { 'n', 'rs', '<Cmd>Runbridge sessions<CR>', 'runbridge: sessions' },
  { 'n', 'rt', '<Cmd>Runbridge terminal<CR>', 'runbridge: remote terminal' },
}

---@param buf integer
function M.set(buf)
  if vim.bo[buf].buftype ~= '' then
    return
  end
  for _, m in ipairs(M.maps) do
    vim.keymap.set(m[1], '<localleader>' .. m[2], m[3], { buffer = buf, remap = true, desc = m[4] })
  end
end

--- Turns the default maps on (for every normal buffer, now and later) or stops adding them.
---@param enabled boolean
function M.apply(enabled)
  local group = api.nvim_create_augroup('runbridge_keymaps', { clear = true })
  if not enabled then
    return
  end
  api.nvim_create_autocmd({ 'FileType', 'BufEnter' }, {
    group = group,
    callback = function(ev)
      if not vim.b[ev.buf].runbridge_keymaps then
        vim.b[ev.buf].runbridge_keymaps = true
        M.set(ev.buf)
      end
    end,
  })
  for _, buf in ipairs(api.nvim_list_bufs()) do
    if api.nvim_buf_is_loaded(buf) and not vim.b[buf].runbridge_keymaps then
      vim.b[buf].runbridge_keymaps = true
      M.set(buf)
    end
  end
end

return M
