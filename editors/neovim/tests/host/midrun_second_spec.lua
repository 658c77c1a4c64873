-- Neovim #2 of the mid-run reopen test: it attaches while the run of midrun_first_spec.lua is still
-- printing. Its output buffer shows the ticks printed so far from history, then the live ones:
-- every tick once, in order (no gap, no repeat).
--
-- To make the overlap certain, the plugin's runbridge/history request is sent 300 ms after its
-- runbridge/follow, and its answer handled 300 ms late: live output then arrives both before the
-- history snapshot (history has it too: it must be dropped) and after it (it must be shown after
-- the history).
local T = ...

T.setup()

T.test('reattached mid-run, the output continues with no gap and no repeat', function()
  vim.cmd('Runbridge output')
  local started = vim.lsp.get_client_by_id(1) -- the first client of this Neovim
  T.ok(started and started.name == 'runbridge', ':Runbridge output started the client')
  local c = T.rb().client() -- the same one, not initialized yet: it attaches once it is
  T.ok(c and c.id == started.id and not c.initialized, 'the same client, not initialized yet')
  T.ok(vim.fn.bufwinid(T.out_buf('default')) ~= -1, 'the output buffer is shown')
  local request, delayed = c.request, 0
  c.request = function(self, method, params, handler, ...)
    if method ~= 'runbridge/history' then
      return request(self, method, params, handler, ...)
    end
    delayed = delayed + 1
    vim.defer_fn(function()
      request(self, method, params, function(...)
        local n, args = select('#', ...), { ... }
        vim.defer_fn(function()
          handler(unpack(args, 1, n))
        end, 300)
      end)
    end, 300)
    return true, -1
  end
  T.wait_output('still running; its output continues below', 'default', 30000)
  T.wait_output('tick-3999', 'default', 30000)
  T.eq(1, delayed, 'the history request went through the delay')
  local seen = {}
  for _, line in ipairs(T.lines(T.out_buf('default'))) do
    local n = vim.trim(line):match('^tick%-(%d+)$')
    if n then
      seen[#seen + 1] = tonumber(n)
    end
  end
  local first_wrong
  for i = 1, math.max(#seen, 4000) do
    if seen[i] ~= i - 1 then
      first_wrong = i
      break
    end
  end
  T.ok(
    not first_wrong,
    ('every tick once, in order: %d ticks, position %s has %s (around it: %s)'):format(
      #seen,
      tostring(first_wrong),
      tostring(first_wrong and seen[first_wrong]),
      first_wrong and table.concat(vim.list_slice(seen, math.max(1, first_wrong - 3), first_wrong + 3), ' ') or ''
    )
  )
end)

T.test(':Runbridge stop stops the session host', function()
  local c = T.rb().client()
  vim.cmd('Runbridge stop')
  T.wait_for(function()
    return c:is_stopped()
  end, 20000, 'the client to stop after runbridge/stopDaemon')
end)
