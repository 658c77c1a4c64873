---@mod runbridge.input The runbridge/input server request: answered through vim.ui.input, or
--- vim.fn.inputsecret for passwords. Neovim runs server requests in a coroutine, so the handler
--- yields until the user answers and never blocks the UI loop waiting on the daemon.

local M = {}

---@param params {session: string, runId: string, prompt: string, password: boolean}
---@return {value: string|vim.NIL}
function M.handle(_, params)
  params = type(params) == 'table' and params or {}
  local prompt = type(params.prompt) == 'string' and params.prompt or ''
  if vim.trim(prompt) == '' then
    prompt = ('runbridge [%s] input: '):format(tostring(params.session or '?'))
  end
  local co = coroutine.running()
  local can_yield = co ~= nil and coroutine.isyieldable()
  local done, waiting, value = false, false, nil

  local function finish(v)
    if done then
      return
    end
    done, value = true, v
    if waiting then
      waiting = false
      local ok, err = coroutine.resume(co)
      if not ok then
        vim.notify('runbridge: answering input failed: ' .. tostring(err), vim.log.levels.ERROR)
      end
    end
  end

  if params.password == true then
    -- scheduled, so the handler yields first; never vim.ui.input for a password
    vim.schedule(function()
      local ok, v = pcall(vim.fn.inputsecret, prompt)
      finish(ok and type(v) == 'string' and v or nil)
    end)
  else
    local ok, err = pcall(vim.ui.input, { prompt = prompt }, function(v)
      -- a UI may call back inside a fast event or a textlock; resume on the main loop
      if vim.in_fast_event() then
        vim.schedule(function()
          finish(v)
        end)
      else
        finish(v)
      end
    end)
    if not ok then
      vim.notify('runbridge: vim.ui.input failed: ' .. tostring(err), vim.log.levels.ERROR)
      finish(nil)
    end
  end

  if not done then
    if can_yield then
      waiting = true
      coroutine.yield()
    else
      -- Neovim without coroutine-run server requests: wait, processing events
      vim.wait(24 * 3600 * 1000, function()
        return done
      end, 50)
    end
  end
  if value == nil then
    return { value = vim.NIL }
  end
  return { value = value }
end

return M
