-- A flood of output (30 MiB in one run) must not freeze Neovim. While it streams:
--  * a repeating 20 ms libuv timer records how late each tick fires (main-loop blocking);
--  * an RPC client on Neovim's own server socket calls nvim_call_function('line', ['.'])
--    one request after another and records how long each trivial vim.fn call waits.
-- The whole flood must arrive (output_cap_mb is raised above it) and the run must finish.
-- Figures are printed; the only hard checks are completeness and that probes were answered
-- during the flood (no speed threshold).
local T = ...

local MB = 30
T.setup({ output_cap_mb = 64 })

local uv = vim.uv or vim.loop

local function pct(sorted, p)
  if #sorted == 0 then
    return 0 / 0
  end
  return sorted[math.max(1, math.min(#sorted, math.ceil(#sorted * p)))]
end

--- Tail of a buffer (cheap to read, unlike a full 10000-line scrollback every poll).
local function tail(buf, n)
  if not buf or not vim.api.nvim_buf_is_valid(buf) then
    return {}
  end
  local count = vim.api.nvim_buf_line_count(buf)
  return vim.api.nvim_buf_get_lines(buf, math.max(0, count - n), count, false)
end

--- An msgpack-RPC client of this very Neovim, measuring request round trips.
local function rpc_prober(addr)
  local p = { rtts = {}, answered_at = {}, stopped = false, errors = {} }
  local pipe = uv.new_pipe(false)
  local unpacker = vim.mpack.Unpacker()
  local pending, sent_at, id = '', nil, 0
  local function send()
    if p.stopped then
      return
    end
    id = id + 1
    sent_at = uv.hrtime()
    pipe:write(vim.mpack.encode({ 0, id, 'nvim_call_function', { 'line', { '.' } } }))
  end
  pipe:connect(addr, function(err)
    if err then
      p.errors[#p.errors + 1] = err
      return
    end
    pipe:read_start(function(rerr, data)
      if rerr or not data then
        return
      end
      pending = pending .. data
      local pos = 1
      while pos <= #pending do
        local msg, npos = unpacker(pending, pos)
        if msg == nil then
          break
        end
        pos = npos
        if type(msg) == 'table' and msg[1] == 1 and msg[2] == id then
          local now = uv.hrtime()
          p.rtts[#p.rtts + 1] = (now - sent_at) / 1e6
          p.answered_at[#p.answered_at + 1] = now / 1e6
          if msg[3] ~= vim.NIL and msg[3] ~= nil then
            p.errors[#p.errors + 1] = vim.inspect(msg[3])
          end
          local t = uv.new_timer()
          t:start(20, 0, function()
            t:close()
            send()
          end)
        end
      end
      pending = pending:sub(pos)
    end)
    send()
  end)
  function p.stop()
    p.stopped = true
    pipe:read_stop()
    pipe:close()
  end
  return p
end

T.test(('a %d MiB flood: the run completes, its end is shown, nothing is lost unannounced, Neovim keeps answering'):format(MB), function()
  -- Warm up: the kernel is started before the measurement.
  T.scratch({ "print('warm')" })
  T.run_wait(function()
    T.rb().run_line()
  end, 'default', 30000)

  local src = T.scratch({
    'import sys',
    "block = ('x' * 63 + '\\n') * 16384",
    ('for i in range(%d):'):format(MB),
    '    sys.stdout.write(block)',
    'sys.stdout.flush()',
    "print('flood-' + 'end', len(block) * " .. MB .. ')',
  })
  local expected_end = ('flood-end %d'):format(MB * 1048576)

  -- Lateness of a 20 ms repeating timer.
  local lateness = {}
  local timer = uv.new_timer()
  local next_due = uv.hrtime() / 1e6 + 20
  timer:start(20, 20, function()
    local now = uv.hrtime() / 1e6
    lateness[#lateness + 1] = math.max(0, now - next_due)
    next_due = now + 20
  end)
  -- What reaches the output terminal: flood lines written, and the bytes the plugin says it
  -- skipped (its pacer drops the oldest waiting text under a flood and writes a note instead).
  local out_chan
  for _, c in ipairs(vim.api.nvim_list_chans()) do
    if c.buffer == T.out_buf('default') then
      out_chan = c.id
    end
  end
  T.ok(out_chan, 'the output terminal channel')
  local flood_line = string.rep('x', 63)
  local sent = { lines = 0, bytes = 0, skipped = 0, notes = 0 }
  local chan_send = vim.api.nvim_chan_send
  vim.api.nvim_chan_send = function(chan, data)
    if chan == out_chan and type(data) == 'string' then
      sent.bytes = sent.bytes + #data
      sent.lines = sent.lines + select(2, data:gsub(flood_line, ''))
      for kb in data:gmatch('(%d+) KB of output skipped') do
        sent.skipped = sent.skipped + tonumber(kb) * 1024
        sent.notes = sent.notes + 1
      end
    end
    return chan_send(chan, data)
  end
  local addr = vim.fn.serverstart()
  local probe = rpc_prober(addr)

  local out_buf = T.out_buf('default')
  local function is_footer(l)
    return l:find('^✓ finished') or l:find('^✗') or l:find('^■') or l:find('^⏱')
  end
  --- The footer line after the flood's last line, once both are in the buffer.
  local function flood_footer()
    local seen_end = false
    for _, line in ipairs(tail(out_buf, 40)) do
      local l = vim.trim(line)
      if l == expected_end then
        seen_end = true
      elseif seen_end and is_footer(l) then
        return l
      end
    end
  end
  local function status_done()
    local s = T.status_at(src, 5)
    return s:find('✓') or s:find('✗') or s:find('■') or s:find('⏱')
  end

  local lateness_from = #lateness + 1
  local t0 = T.now()
  T.rb().run_range(src, 1, 6)
  local rtt_from = #probe.rtts + 1
  -- Ends when the status extmark says so (even if the flood were cut), then the text must follow.
  local ok = vim.wait(60000, function()
    return status_done() ~= nil or flood_footer() ~= nil
  end, 50)
  local t_status = T.now()
  local footer = ok and T.wait_for(flood_footer, 20000, 'the flood\'s last line and its footer in the buffer', function()
    return 'tail of the output:\n' .. table.concat(tail(out_buf, 40), '\n') .. '\nstatus: ' .. T.status_at(src, 5)
  end)
  local t1 = T.now()
  local rtt_to = #probe.rtts
  timer:stop()
  timer:close()
  probe.stop()
  vim.api.nvim_chan_send = chan_send
  T.ok(ok, 'the flood run finished within 60 s; tail:\n' .. table.concat(tail(out_buf, 10), '\n'))

  local lat, rtt = {}, {}
  for i = lateness_from, #lateness do
    lat[#lat + 1] = lateness[i]
  end
  for i = rtt_from, rtt_to do
    rtt[#rtt + 1] = probe.rtts[i]
  end
  table.sort(lat)
  table.sort(rtt)
  local secs = (t1 - t0) / 1000
  T.log(('flood: %d MiB printed, run finished after %.1f s (%.1f MB/s); status extmark after %.1f s'):format(
    MB, secs, MB / secs, (t_status - t0) / 1000))
  local total_lines = MB * 16384
  -- A skipped line is 64 bytes as printed, 65 once '\n' became '\r\n' for the terminal; the
  -- plugin may count skipped text either way, so both bounds are used.
  local skipped_lo, skipped_hi = sent.skipped / 65, sent.skipped / 64
  T.log(('into the terminal: %.1f MB, %d of %d flood lines (%.1f%%); %d skip notes for %.1f MB (%.0f-%.0f lines)'):format(
    sent.bytes / 1048576, sent.lines, total_lines, 100 * sent.lines / total_lines, sent.notes,
    sent.skipped / 1048576, skipped_lo, skipped_hi))
  T.log(('20 ms timer lateness: n=%d p50=%.1f ms p95=%.1f ms max=%.1f ms'):format(
    #lat, pct(lat, 0.5), pct(lat, 0.95), pct(lat, 1)))
  T.log(('vim.fn line(".") over RPC during the flood: n=%d p50=%.1f ms p95=%.1f ms max=%.1f ms'):format(
    #rtt, pct(rtt, 0.5), pct(rtt, 0.95), pct(rtt, 1)))
  io.stdout:write(('FLOOD_FIGURES rendered_mb=%.1f skipped_mb=%.1f\n'):format(sent.bytes / 1048576, sent.skipped / 1048576))
  io.stdout:write(('FLOOD_FIGURES mb=%d seconds=%.2f lateness_p50_ms=%.1f lateness_max_ms=%.1f rpc_n=%d rpc_p50_ms=%.1f rpc_max_ms=%.1f\n'):format(
    MB, secs, pct(lat, 0.5), pct(lat, 1), #rtt, pct(rtt, 0.5), pct(rtt, 1)))

  T.eq({}, probe.errors, 'RPC probe errors')
  -- Nothing is lost silently: every flood line was written to the terminal or counted in a note
  -- (the notes round to KB; up to a pacer chunk may be in flight at the end).
  local slack = total_lines * 0.005 + sent.notes + 1024
  T.ok(total_lines >= sent.lines + skipped_lo - slack and total_lines <= sent.lines + skipped_hi + slack,
    ('flood lines written (%d) + skipped per the notes (%.0f-%.0f) ~ %d printed'):format(
      sent.lines, skipped_lo, skipped_hi, total_lines))
  T.ok(#rtt >= 2, 'the editor answered vim.fn calls during the flood (' .. #rtt .. ' answered)')
  T.ok(#lat >= 2, 'the timer ticked during the flood')

  local text = table.concat(tail(out_buf, 40), '\n')
  T.not_contains(text, 'truncated', 'output_cap_mb = 64 reached the daemon')
  T.ok(footer:find('^✓ finished'), 'the flood run finished cleanly: ' .. footer)
  -- The lines of the flood are intact in the buffer (no interleaving, no lost bytes mid-line).
  local full = 0
  for _, line in ipairs(tail(out_buf, 1000)) do
    if line == string.rep('x', 63) then
      full = full + 1
    end
  end
  T.ok(full >= 900, ('the last 1000 lines are flood lines of 63 x (%d are)'):format(full))

  -- And the editor is usable right after.
  T.scratch({ "print('after-' + 'flood')" })
  local f2 = T.run_wait(function()
    T.rb().run_line()
  end)
  T.ok(f2:find('^✓'), f2)
  T.eq(1, vim.fn.line('.'))
end)
