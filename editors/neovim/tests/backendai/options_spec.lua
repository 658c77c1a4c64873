-- Backend.AI session options in the statusline: a session opened with options shows the
-- daemon's summary of them after its state. Run by tests/neovim/test_neovim_options.py
-- against the Backend.AI manager emulator (profile 'bai' in the spec's config.toml).
local T = ...

T.setup()

T.test("statusline() shows the daemon's summary of the session options", function()
  require('runbridge.client').ensure()
  T.wait_for(function()
    return require('runbridge.client').capabilities()
  end, 30000, 'the daemon to be initialized')
  local info = T.request_sync('runbridge/openSession', {
    name = 'nv-opts',
    profile = 'bai',
    options = {
      resources = { cpu = 2 },
      clusterSize = 2,
      clusterMode = 'multi-node',
      scalingGroup = 'gpu',
      mounts = { { name = 'data' } },
    },
  }, 60000)
  T.eq('cpu 2 · 2 × multi-node · sg gpu · 1 mount', info.summary, 'openSession summary')
  vim.cmd('Runbridge session nv-opts')
  local want = 'runbridge: nv-opts (bai) idle · cpu 2 · 2 × multi-node · sg gpu · 1 mount'
  T.wait_for(function()
    return T.rb().statusline() == want
  end, 30000, 'statusline() "' .. want .. '"', function()
    return T.rb().statusline()
  end)
  T.request_sync('runbridge/closeSession', { name = 'nv-opts' }, 30000)
end)

T.test('a session without options (local) shows no summary', function()
  vim.cmd('Runbridge session plain')
  T.wait_for(function()
    return T.rb().current_session() == 'plain'
  end, 10000, "current_session() == 'plain'")
  T.eq('runbridge: plain (local) closed', T.rb().statusline(), 'statusline of a session not open')
end)
