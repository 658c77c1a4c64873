-- runbridge: the :Runbridge command and <Plug> maps. Everything else loads on first use.
if vim.g.loaded_runbridge then
  return
end
vim.g.loaded_runbridge = 1

if vim.fn.has('nvim-0.10') ~= 1 then
  vim.api.nvim_echo({ { 'runbridge needs Neovim 0.10 or newer', 'WarningMsg' } }, true, {})
  return
end

vim.api.nvim_create_user_command('Runbridge', function(cmd)
  require('runbridge.commands').run(cmd)
end, {
  nargs = '*',
  range = true,
  desc = 'runbridge: run code in named sessions (:Runbridge run|cell|cell-next|cell-above|file|batch|session|sessions|variables|...)',
  complete = function(arglead, cmdline)
    return require('runbridge.commands').complete(arglead, cmdline)
  end,
})

local map = vim.keymap.set
map('n', '<Plug>(RunbridgeRunLine)', function()
  require('runbridge').run_line()
end, { desc = 'runbridge: run the current line' })
map('x', '<Plug>(RunbridgeRunSelection)', ":<C-u>lua require('runbridge').run_selection()<CR>", {
  silent = true,
  desc = 'runbridge: run the selection',
})
map('n', '<Plug>(RunbridgeRunOperator)', function()
  vim.o.operatorfunc = "v:lua.require'runbridge'.run_operator"
  return 'g@'
end, { expr = true, desc = 'runbridge: run {motion}' })
map('n', '<Plug>(RunbridgeRunCell)', function()
  require('runbridge').run_cell()
end, { desc = 'runbridge: run the cell under the cursor' })
map('n', '<Plug>(RunbridgeRunCellNext)', function()
  require('runbridge').run_cell_next()
end, { desc = 'runbridge: run the cell and move to the next' })
map('n', '<Plug>(RunbridgeRunAbove)', function()
  require('runbridge').run_above()
end, { desc = 'runbridge: run the cells above the cursor' })
