-- Neovim #1 of the mid-run reopen test (tests/neovim/test_neovim_host.py): start a run that prints
-- tick-0 .. tick-3999 over about 10 s (so a notification every 25 ms) and quit as soon as the first
-- ticks are shown. The run goes on in the session host; midrun_second_spec.lua reattaches to it.
local T = ...

T.setup()

T.test('a long run starts printing, then Neovim quits while it runs', function()
  T.scratch({
    'import time',
    'for i in range(4000):',
    "    print(f'tick-{i}', flush=True)",
    '    time.sleep(0.0025)',
  })
  T.rb().run_file()
  T.wait_output('tick-1', 'default', 60000)
end)
