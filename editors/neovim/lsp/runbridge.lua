---@brief
--- runbridge: run code in named compute sessions (local Jupyter kernels, Backend.AI).
--- The plugin starts this client lazily on first use; `vim.lsp.enable('runbridge')` works too.
--- Override with `vim.lsp.config('runbridge', {...})` or `require('runbridge').setup({cmd = ...})`.

local config = require('runbridge.config').get()

local function handler(module, fn)
  return function(...)
    return require(module)[fn](...)
  end
end

---@type vim.lsp.Config
return {
  cmd = require('runbridge.config').daemon_cmd(config.cmd),
  cmd_env = vim.deepcopy(config.cmd_env),
  -- the buffers vim.lsp.enable('runbridge') attaches (the plugin attaches them itself once started)
  filetypes = vim.deepcopy(config.languages),
  init_options = require('runbridge.config').init_options(),
  before_init = function(params)
    -- read at start time, so setup() after this file was loaded still counts
    params.initializationOptions = require('runbridge.config').init_options()
  end,
  handlers = {
    ['runbridge/output'] = handler('runbridge.runner', 'on_output'),
    ['runbridge/sessionChanged'] = handler('runbridge.client', 'on_session_changed'),
    ['runbridge/terminalOutput'] = handler('runbridge.terminal', 'on_output'),
    ['runbridge/terminalExit'] = handler('runbridge.terminal', 'on_exit'),
    ['runbridge/input'] = handler('runbridge.input', 'handle'),
    ['runbridge/documentBound'] = handler('runbridge.documents', 'on_bound'),
  },
  -- the daemon's code lenses run through the plugin (output buffer, status marks)
  commands = {
    ['runbridge.server.runCell'] = handler('runbridge', 'lens_run_cell'),
    ['runbridge.server.runAbove'] = handler('runbridge', 'lens_run_above'),
  },
  on_init = handler('runbridge.client', 'on_init'),
  on_exit = handler('runbridge.client', 'on_exit'),
}
