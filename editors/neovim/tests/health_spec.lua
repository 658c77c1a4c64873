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
  -- the default profile was checked by the daemon (runbridge/checkProfile), not just listed
  T.ok(
    ok_line(lines, 'profile local', "kernelspec 'python3'", 'is installed'),
    'an OK line saying the local profile can open sessions:\n' .. text
  )
  -- the tests run the daemon in process (RUNBRIDGE_STANDALONE=1 from the wrapper)
  T.contains(text, 'standalone daemon (RUNBRIDGE_STANDALONE=1): its sessions end when Neovim quits')
  T.not_contains(text, 'ERROR', 'no ERROR in the report')
end)

T.test(':checkhealth runbridge warns about a profile that cannot open sessions', function()
  -- a profile in the daemon's config file whose kernelspec does not exist
  local dir = vim.env.RUNBRIDGE_CONFIG_DIR
  T.ok(dir and dir ~= '', 'the wrapper isolates the daemon config folder')
  vim.fn.mkdir(dir, 'p')
  vim.fn.writefile({ '[profiles.broken]', 'type = "local"', 'image = "no-such-kernel"' }, dir .. '/config.toml')
  local lines = health_lines()
  vim.fn.delete(dir .. '/config.toml')
  local text = table.concat(lines, '\n')
  T.contains(text, "no Jupyter kernelspec named 'no-such-kernel'", 'the reason is reported')
  T.ok(ok_line(lines, 'profile local'), 'the working profile is still OK:\n' .. text)
  T.not_contains(text, 'ERROR', 'a profile that cannot open sessions is a warning, not an error')
end)
