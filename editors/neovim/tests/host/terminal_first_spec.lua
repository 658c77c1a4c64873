-- Neovim #1 of the terminal reattach test (tests/neovim/test_neovim_host.py): open a remote
-- terminal through the session host, run a command in it, quit. The shell stays in the host.
local T = ...

T.setup()

T.test(':Runbridge terminal runs a command, then Neovim quits leaving the shell in the host', function()
  vim.cmd('Runbridge terminal')
  local buf = T.wait_for(function()
    local b = vim.fn.bufnr('runbridge://terminal/default')
    return b ~= -1 and b
  end, 60000, 'the terminal buffer')
  T.wait_for(function()
    return require('runbridge.terminal').id_of(buf)
  end, 60000, 'the terminal id', function()
    return T.text(buf)
  end)
  local win = vim.fn.bufwinid(buf)
  vim.api.nvim_win_call(win, function()
    vim.fn.setreg('z', 'echo before-$((6*7))\r', 'c')
    vim.cmd('normal! "zp')
  end)
  T.wait_for(function()
    return T.has_line(T.text(buf), 'before-42')
  end, 20000, '"before-42" from the remote shell', function()
    return T.text(buf)
  end)
end)
