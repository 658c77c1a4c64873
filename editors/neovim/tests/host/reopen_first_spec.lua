-- Neovim #1 of the quit-and-reopen test (tests/neovim/test_neovim_host.py): with the default
-- command (the relay to the session host), set a variable, print a line and show an SVG in session
-- "default", then quit. The session stays in the host; reopen_second_spec.lua reopens it.
local T = ...

T.setup()

T.test('a run through the session host sets x = 41 and prints a line and an SVG', function()
  T.scratch({
    'from IPython.display import SVG, display',
    'x = 41',
    "print('before-quit', x)",
    [[display(SVG('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>'))]],
  })
  local footer, new = T.run_wait(function()
    T.rb().run_file()
  end, 'default', 60000)
  T.ok(footer:find('^✓ finished in '), footer .. '\n' .. new)
  T.ok(T.has_line(new, 'before-quit 41'), 'the run printed: ' .. new)
  T.wait_for(function()
    return #T.rb().media_files() == 1
  end, 5000, 'the SVG saved as a media file')
  local caps = require('runbridge.client').capabilities()
  T.ok(caps and caps.protocolVersion == 1, 'the host answered initialize: ' .. vim.inspect(caps))
end)

T.test(':checkhealth runbridge says the sessions live in the session host', function()
  vim.cmd('checkhealth runbridge')
  local buf = vim.api.nvim_get_current_buf()
  local text = T.wait_for(function()
    local t = T.text(buf)
    return t:find('protocolVersion', 1, true) and t
  end, 20000, 'the runbridge report')
  T.contains(text, 'sessions live in the session host and outlive Neovim; :Runbridge stop ends it')
  T.not_contains(text, 'ERROR')
end)
