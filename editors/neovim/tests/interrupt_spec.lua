-- Interrupting a long run: ':Runbridge interrupt' during time.sleep(30) ends it '■ interrupted'
-- within a few seconds, and the kernel (with its variables) survives.
local T = ...

T.setup()

local has_line = T.has_line

local function interrupt_long_run(how)
  local src = T.scratch({ "import time; print('ASLEEP-' + 'NOW', flush=True)", "time.sleep(30); print('NOT-' + 'WOKE')" })
  local before = #T.footers('default')
  local function asleep()
    local _, n = T.out_text('default'):gsub('ASLEEP%-NOW', '')
    return n
  end
  local asleep_before = asleep()
  T.rb().run_range(src, 1, 2)
  T.wait_for(function()
    return T.status_at(src, 1):find('running', 1, true)
  end, 15000, "'running' status", function()
    return vim.inspect(T.status_marks(src))
  end)
  -- the kernel runs the code (an interrupt that comes before it would be lost)
  T.wait_for(function()
    return asleep() > asleep_before
  end, 15000, 'the run to print before its sleep', function()
    return T.out_text('default')
  end)
  T.eq(before, #T.footers('default'), 'still running before the interrupt')
  local t0 = T.now()
  how()
  T.wait_for(function()
    return #T.footers('default') > before
  end, 5000, 'the run to end after the interrupt', function()
    return T.out_text('default')
  end)
  local took = T.now() - t0
  local footer = T.footers('default')[before + 1]
  T.log(('interrupted %.0f ms after the request'):format(took))
  T.ok(footer:find('^■ interrupted'), 'footer "■ interrupted ...", got ' .. footer)
  T.not_contains(T.out_text('default'), 'NOT-WOKE')
  T.wait_for(function()
    return T.status_at(src, 1):find('■ interrupted', 1, true)
  end, 5000, "'■ interrupted' status", function()
    return vim.inspect(T.status_marks(src))
  end)
end

T.test(':Runbridge interrupt stops time.sleep(30) within seconds; the kernel keeps its variables', function()
  T.scratch({ 'keep = 41' })
  local f0 = T.run_wait(function()
    T.rb().run_line()
  end, 'default', 30000)
  T.ok(f0:find('^✓'), f0)

  interrupt_long_run(function()
    vim.cmd('Runbridge interrupt')
  end)

  T.scratch({ 'print(keep + 1)' })
  local f1, new = T.run_wait(function()
    T.rb().run_line()
  end)
  T.ok(f1:find('^✓'), f1)
  T.ok(has_line(new, '42'), 'same kernel after the interrupt:\n' .. new)
end)

T.test('require("runbridge").interrupt() does the same', function()
  interrupt_long_run(function()
    T.rb().interrupt()
  end)
end)
