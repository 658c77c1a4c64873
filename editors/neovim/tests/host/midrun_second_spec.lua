-- Neovim #2 of the mid-run reopen test: it attaches while the run of midrun_first_spec.lua is still
-- printing. Its output buffer shows the ticks printed so far from history, then the live ones:
-- every tick once, in order (no gap, no repeat).
local T = ...

T.setup()

T.test('reattached mid-run, the output continues with no gap and no repeat', function()
  T.ok(T.rb().client(), 'the client starts: it attaches and replays the history')
  T.wait_output('still running; its output continues below', 'default', 30000)
  T.wait_output('tick-99', 'default', 30000)
  local seen = {}
  for _, line in ipairs(T.lines(T.out_buf('default'))) do
    local n = vim.trim(line):match('^tick%-(%d+)$')
    if n then
      seen[#seen + 1] = tonumber(n)
    end
  end
  local want = {}
  for i = 0, 99 do
    want[#want + 1] = i
  end
  T.eq(want, seen, 'every tick once, in order')
end)

T.test(':Runbridge stop stops the session host', function()
  local c = T.rb().client()
  vim.cmd('Runbridge stop')
  T.wait_for(function()
    return c:is_stopped()
  end, 20000, 'the client to stop after runbridge/stopDaemon')
end)
