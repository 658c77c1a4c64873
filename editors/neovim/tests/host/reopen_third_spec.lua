-- Neovim #3 of the quit-and-reopen test: with history = { runs = 0 } nothing earlier is written
-- to the output buffer, while the session and its live output are still there; then
-- :Runbridge stop ends the host.
local T = ...

T.setup({ history = { runs = 0 } })

T.test('history.runs = 0 shows no earlier output; the session and x are still there', function()
  T.scratch({ 'print(x * 2)' })
  local footer, new = T.run_wait(function()
    T.rb().run_line()
  end, 'default', 60000)
  T.ok(footer:find('^✓ finished in '), footer .. '\n' .. new)
  T.ok(T.has_line(new, '82'), 'x is still 41: ' .. new)
  local all = T.out_text('default')
  T.not_contains(all, 'earlier output')
  T.not_contains(all, 'before-quit')
  T.eq(0, #T.rb().media_files(), 'no media replayed')
end)

T.test(':Runbridge stop stops the session host', function()
  local c = T.rb().client()
  vim.cmd('Runbridge stop')
  T.wait_for(function()
    return c:is_stopped()
  end, 20000, 'the client to stop after runbridge/stopDaemon')
end)
