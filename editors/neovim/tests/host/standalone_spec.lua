-- standalone = true (tests/neovim/test_neovim_host.py, RUNBRIDGE_STANDALONE not set): the daemon
-- command gets --standalone, so the daemon runs in its own process for this Neovim only, and
-- its sessions end when Neovim quits (the test checks that nothing is left and no host started).
local T = ...

T.setup({ standalone = true })

T.test('standalone = true adds --standalone to the daemon command and runs there', function()
  local cmd = require('runbridge.client').resolve_config().cmd
  T.eq('--standalone', cmd[#cmd], 'the daemon command: ' .. vim.inspect(cmd))
  T.eq(vim.list_extend(vim.deepcopy(T.cmd), { '--standalone' }), cmd)
  T.scratch({ "print('alone', 6 * 7)" })
  local footer, new = T.run_wait(function()
    T.rb().run_line()
  end, 'default', 60000)
  T.ok(footer:find('^✓ finished in '), footer .. '\n' .. new)
  T.ok(T.has_line(new, 'alone 42'), new)
end)

T.test(':checkhealth runbridge says the daemon is standalone', function()
  vim.cmd('checkhealth runbridge')
  local buf = vim.api.nvim_get_current_buf()
  local text = T.wait_for(function()
    local t = T.text(buf)
    return t:find('protocolVersion', 1, true) and t
  end, 20000, 'the runbridge report')
  T.contains(text, 'standalone daemon (--standalone): its sessions end when Neovim quits')
end)
