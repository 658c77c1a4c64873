-- :checkhealth runbridge when the configured daemon command does not exist: the report must
-- say so (ERROR or WARNING naming the command), and must not claim the daemon is OK.
local T = ...

local missing = T.tmp .. '/no-such-dir/runbridge-missing'
T.setup({ cmd = { missing, 'serve' } })

T.test(':checkhealth runbridge reports a missing daemon command', function()
  vim.cmd('checkhealth runbridge')
  local buf = vim.api.nvim_get_current_buf()
  T.eq('checkhealth', vim.bo[buf].filetype, 'the health buffer is current')
  local text = T.wait_for(function()
    local t = T.text(buf)
    return (t:find('ERROR', 1, true) or t:find('WARNING', 1, true)) and t
  end, 20000, 'an ERROR or WARNING in the report', function()
    return T.text(buf)
  end)
  T.log('\n' .. text)
  local problem
  for _, line in ipairs(vim.api.nvim_buf_get_lines(buf, 0, -1, false)) do
    if (line:find('ERROR', 1, true) or line:find('WARNING', 1, true)) then
      problem = problem or line
    end
  end
  T.contains(text, 'runbridge-missing', 'the report names the missing command')
  if T.version then
    for _, line in ipairs(vim.api.nvim_buf_get_lines(buf, 0, -1, false)) do
      T.ok(not (line:find('OK', 1, true) and line:find(T.version, 1, true)), 'no OK daemon version line: ' .. line)
    end
  end
  T.ok(problem, 'a problem line')
end)

T.test('client() returns nil and notifies an error when the daemon cannot start', function()
  local notes = T.capture_notify()
  local c = T.rb().client()
  T.eq(nil, c, 'no client')
  local err = T.wait_for(function()
    for _, n in ipairs(notes) do
      if n.level == vim.log.levels.ERROR then
        return n
      end
    end
  end, 10000, 'an ERROR notification', function()
    return vim.inspect(notes)
  end)
  T.contains(err.msg, 'runbridge-missing', 'the notification names the command')
end)
