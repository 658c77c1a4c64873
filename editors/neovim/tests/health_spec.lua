-- :checkhealth runbridge with a working daemon: OK for the Neovim version, the daemon (found,
-- its version) and protocol version 1; no ERROR.
local T = ...

T.setup()

local function health_lines()
  vim.cmd('checkhealth runbridge')
  local buf = vim.api.nvim_get_current_buf()
  T.eq('checkhealth', vim.bo[buf].filetype, 'the health buffer is current')
  -- Checks may finish asynchronously in some versions; wait for the report to settle.
  T.wait_for(function()
    return T.text(buf):find('runbridge', 1, true)
  end, 20000, 'the runbridge report')
  return vim.api.nvim_buf_get_lines(buf, 0, -1, false)
end

local function ok_line(lines, ...)
  local needles = { ... }
  for _, line in ipairs(lines) do
    if line:find('OK', 1, true) then
      local all = true
      for _, n in ipairs(needles) do
        all = all and line:lower():find(n:lower(), 1, true) ~= nil
      end
      if all then
        return line
      end
    end
  end
end

T.test(':checkhealth runbridge reports OK for Neovim, the daemon and protocol 1, and no ERROR', function()
  local lines = health_lines()
  local text = table.concat(lines, '\n')
  T.log('\n' .. text)
  local v = vim.version()
  local nvim_version = ('%d.%d.%d'):format(v.major, v.minor, v.patch)
  T.ok(ok_line(lines, nvim_version) or ok_line(lines, 'neovim'), 'an OK line for the Neovim version:\n' .. text)
  if T.version then
    T.ok(ok_line(lines, T.version), 'an OK line with the daemon version ' .. T.version .. ':\n' .. text)
  end
  T.ok(ok_line(lines, 'protocol', '1'), 'an OK line for protocol version 1:\n' .. text)
  T.not_contains(text, 'ERROR', 'no ERROR in the report')
end)
