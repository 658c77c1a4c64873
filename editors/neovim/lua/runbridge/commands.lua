---@mod runbridge.commands The :Runbridge command: subcommands and completion.

local M = {}

local function rb()
  return require('runbridge')
end

local function file_complete(arglead)
  return vim.fn.getcompletion(arglead, 'file')
end

local function session_complete(arglead)
  return vim.tbl_filter(function(n)
    return vim.startswith(n, arglead)
  end, require('runbridge.sessions').names())
end

local function profile_complete(arglead)
  local caps = require('runbridge.client').capabilities()
  local names = {}
  for _, p in ipairs(caps and caps.profiles or {}) do
    if type(p.name) == 'string' and vim.startswith(p.name, arglead) then
      table.insert(names, p.name)
    end
  end
  return names
end

local function media_complete(arglead)
  local out = {}
  for _, f in ipairs(rb().media_files()) do
    if vim.startswith(f.path, arglead) then
      table.insert(out, f.path)
    end
  end
  return out
end

--- Parses the arguments of :Runbridge batch: `[files...] [build=CMD...] [exec=CMD...]`.
--- A build= or exec= value runs to the next build= / exec= (so it may hold spaces); files= takes
--- a comma-separated list.
---@param argstring string
---@return table
function M.batch_opts(argstring)
  local opts = {}
  local s = ' ' .. argstring
  local marks = {}
  local pos = 1
  while true do
    local at, e, key = s:find('%s(%a+)=', pos)
    if not at then
      break
    end
    if key == 'build' or key == 'exec' or key == 'files' then
      table.insert(marks, { at = at, value = e + 1, key = key })
    end
    pos = e + 1
  end
  local head = vim.trim(s:sub(1, marks[1] and marks[1].at or #s))
  if head ~= '' then
    opts.files = vim.split(head, '%s+', { trimempty = true })
  end
  for i, m in ipairs(marks) do
    local value = vim.trim(s:sub(m.value, marks[i + 1] and marks[i + 1].at or #s))
    if m.key == 'files' then
      opts.files = vim.list_extend(opts.files or {}, vim.split(value, ',', { trimempty = true }))
    else
      opts[m.key] = value
    end
  end
  return opts
end

---@type table<string, {run: fun(args: string[], cmd: table), complete?: fun(arglead: string, n: integer): string[]}>
M.subcommands = {
  run = {
    run = function(_, cmd)
      if cmd.range > 0 then
        rb().run_range(0, cmd.line1, cmd.line2)
      else
        rb().run_line()
      end
    end,
  },
  cell = { run = function() rb().run_cell() end },
  ['cell-next'] = { run = function() rb().run_cell_next() end },
  ['cell-above'] = { run = function() rb().run_above() end },
  variables = { run = function(args) rb().variables(args[1]) end, complete = session_complete },
  file = { run = function() rb().run_file() end },
  batch = {
    run = function(_, cmd)
      local opts = M.batch_opts((cmd.args or ''):gsub('^%s*%S+', '', 1))
      if opts.build or opts.exec then
        -- commands given on the command line: ask for nothing else
        opts.files = opts.files or {}
        opts.build = opts.build or ''
        opts.exec = opts.exec or ''
      end
      rb().run_batch(next(opts) and opts or nil)
    end,
    complete = function(arglead)
      local out = vim.tbl_filter(function(s)
        return vim.startswith(s, arglead)
      end, { 'build=', 'exec=' })
      return vim.list_extend(out, file_complete(arglead))
    end,
  },
  session = {
    run = function(args)
      rb().session(args[1], args[2], args[3])
    end,
    complete = function(arglead, n)
      if n == 1 then
        return session_complete(arglead)
      elseif n == 2 then
        return profile_complete(arglead)
      end
      return {}
    end,
  },
  sessions = { run = function() rb().sessions() end },
  interrupt = { run = function(args) rb().interrupt(args[1]) end, complete = session_complete },
  restart = { run = function(args) rb().restart(args[1]) end, complete = session_complete },
  close = { run = function(args) rb().close(args[1]) end, complete = session_complete },
  destroy = { run = function(args) rb().destroy(args[1]) end, complete = session_complete },
  upload = {
    run = function(args)
      rb().upload(args)
    end,
    complete = file_complete,
  },
  download = {
    run = function(args)
      rb().download(args)
    end,
  },
  terminal = { run = function(args) rb().terminal_menu(args[1]) end, complete = session_complete },
  stop = { run = function() rb().stop() end },
  app = {
    run = function(args)
      local apps = require('runbridge.apps')
      if args[1] then
        apps.open(args[1])
      else
        apps.pick()
      end
    end,
  },
  ['app-close'] = {
    run = function(args) require('runbridge.apps').close(args[1]) end,
    complete = function(arglead)
      return vim.tbl_filter(function(id)
        return vim.startswith(id, arglead)
      end, require('runbridge.apps').open_ids())
    end,
  },
  output = { run = function(args) rb().output(args[1]) end, complete = session_complete },
  log = { run = function() rb().log() end },
  ['open-media'] = { run = function(args) rb().open_media(args[1]) end, complete = media_complete },
}

--- Handler of :Runbridge.
---@param cmd table nvim_create_user_command callback argument
function M.run(cmd)
  local args = vim.deepcopy(cmd.fargs)
  local name = table.remove(args, 1)
  if not name then
    -- no subcommand: run the range, or the line
    return M.subcommands.run.run(args, cmd)
  end
  local sub = M.subcommands[name]
  if not sub then
    vim.notify(
      ('runbridge: unknown subcommand %q; try one of: %s'):format(name, table.concat(M.names(), ', ')),
      vim.log.levels.ERROR
    )
    return
  end
  sub.run(args, cmd)
end

---@return string[]
function M.names()
  local names = vim.tbl_keys(M.subcommands)
  table.sort(names)
  return names
end

--- Completion of :Runbridge.
---@param arglead string
---@param cmdline string
---@return string[]
function M.complete(arglead, cmdline)
  -- strip a leading range (e.g. "'<,'>") and the command name
  local line = cmdline:gsub("^[%s%d,.'<>$%%+-]*", '')
  local words = vim.split(line, '%s+', { trimempty = false })
  table.remove(words, 1) -- "Runbridge"
  if #words <= 1 then
    return vim.tbl_filter(function(n)
      return vim.startswith(n, arglead)
    end, M.names())
  end
  local sub = M.subcommands[words[1]]
  if sub and sub.complete then
    return sub.complete(arglead, #words - 1)
  end
  return {}
end

return M
