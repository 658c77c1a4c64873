---@mod runbridge Run code from Neovim in named runbridge sessions.
---
--- Public API. Everything is asynchronous: functions send a request to the daemon (started on
--- first use) and return at once; results show in the session's output buffer.

local api = vim.api

local M = {}

local function notify(msg, level)
  vim.notify('runbridge: ' .. msg, level or vim.log.levels.INFO)
end

local function config()
  return require('runbridge.config')
end
local function sessions()
  return require('runbridge.sessions')
end
local function client()
  return require('runbridge.client')
end
local function runner()
  return require('runbridge.runner')
end

--- Merges opts over the defaults and validates them (errors name the key).
---@param opts? runbridge.Config|table
function M.setup(opts)
  local cfg = config().setup(opts)
  require('runbridge.keymaps').apply(cfg.default_keymaps)
end

--- The runbridge LSP client; starts the daemon if needed. nil (after an error message) if it cannot.
---@return vim.lsp.Client?
function M.client()
  return client().ensure()
end

--- Runs lines l1..l2 (1-based, inclusive) of a buffer in the current session.
---@param bufnr? integer 0 or nil for the current buffer
---@param l1 integer
---@param l2 integer
function M.run_range(bufnr, l1, l2)
  bufnr = (bufnr == nil or bufnr == 0) and api.nvim_get_current_buf() or bufnr
  if l2 < l1 then
    l1, l2 = l2, l1
  end
  local lines = api.nvim_buf_get_lines(bufnr, l1 - 1, l2, false)
  runner().run({ code = table.concat(lines, '\n'), buf = bufnr, first = l1, last = l2 })
end

--- Runs the current line, then moves the cursor to the next non-blank line.
function M.run_line()
  local buf = api.nvim_get_current_buf()
  local row = api.nvim_win_get_cursor(0)[1]
  M.run_range(buf, row, row)
  local count = api.nvim_buf_line_count(buf)
  local lines = api.nvim_buf_get_lines(buf, row, count, false)
  for i, line in ipairs(lines) do
    if line:match('%S') then
      api.nvim_win_set_cursor(0, { row + i, 0 })
      return
    end
  end
end

--- Runs the text between two marks in a visual mode ('v', 'V' or CTRL-V).
local function run_region(buf, from_mark, to_mark, mode)
  local p1, p2 = vim.fn.getpos(from_mark), vim.fn.getpos(to_mark)
  if p1[2] == 0 or p2[2] == 0 then
    notify('no selection to run', vim.log.levels.WARN)
    return
  end
  local l1, l2 = p1[2], p2[2]
  if mode == 'V' or mode == 'line' then
    return M.run_range(buf, l1, l2)
  end
  local lines
  if vim.fn.exists('*getregion') == 1 then
    lines = vim.fn.getregion(p1, p2, { type = mode })
  else
    local last = api.nvim_buf_get_lines(buf, l2 - 1, l2, false)[1] or ''
    local c2 = math.min(p2[3], #last)
    -- include the whole last character
    c2 = c2 + math.max(0, vim.str_utf_end(last, math.max(c2, 1)))
    lines = api.nvim_buf_get_text(buf, l1 - 1, p1[3] - 1, l2 - 1, c2, {})
  end
  runner().run({
    code = table.concat(lines, '\n'),
    buf = buf,
    first = l1,
    last = l2,
    first_col = mode == 'v' and p1[3] - 1 or nil,
  })
end

--- Runs the last visual selection (charwise respects columns; linewise runs whole lines).
function M.run_selection()
  local mode = vim.fn.visualmode()
  run_region(api.nvim_get_current_buf(), "'<", "'>", mode ~= '' and mode or 'V')
end

--- operatorfunc for g@: runs the text of the motion.
---@param type 'line'|'char'|'block'
function M.run_operator(type)
  local mode = ({ line = 'V', char = 'v', block = '\22' })[type] or 'v'
  run_region(api.nvim_get_current_buf(), "'[", "']", mode)
end

local function documents()
  return require('runbridge.documents')
end

--- Asks the daemon for the cell at 0-based `line` of the buffer (runbridge/cellAt), then calls
--- fn(result) with {cell, next, above}. The buffer is synced first; one the daemon does not sync
--- gets a message instead.
local function cell_at(buf, line, fn)
  local c = client().ensure()
  if not c then
    return
  end
  if not documents().attach(buf, c) then
    notify(
      ('cells come from the daemon, for buffers with a file name and a filetype in `languages` (this one: %q)'):format(
        vim.bo[buf].filetype
      ),
      vim.log.levels.WARN
    )
    return
  end
  local params = { uri = documents().uri(buf), position = { line = line, character = 0 } }
  client().request('runbridge/cellAt', params, function(err, result)
    if err then
      notify('cell: ' .. client().error_message(err), vim.log.levels.ERROR)
      return
    end
    if type(result) == 'table' and api.nvim_buf_is_valid(buf) then
      fn(result)
    end
  end, buf)
end

--- Runs a Cell of the daemon (its code, with the buffer's uri and the cell's code range).
---@param on_done? fun(ok: boolean)
---@return boolean ran
local function run_daemon_cell(buf, cell, on_done)
  if type(cell) ~= 'table' or type(cell.code) ~= 'string' or vim.trim(cell.code) == '' then
    return false
  end
  local s, e = cell.codeRange.start, cell.codeRange['end']
  local first = s.line + 1
  local last = e.character == 0 and e.line or e.line + 1
  if last < first then
    return false
  end
  return runner().run({ code = cell.code, buf = buf, first = first, last = last, on_done = on_done }) ~= nil
end

local function run_cell_at(buf, line, win)
  cell_at(buf, line, function(result)
    if result.cell == vim.NIL or result.cell == nil then
      notify('no cell here (cells start at marker lines such as `# %%`)', vim.log.levels.INFO)
    elseif not run_daemon_cell(buf, result.cell) then
      notify('nothing to run: the cell is empty', vim.log.levels.INFO)
    end
    local next_pos = result.next
    if win and type(next_pos) == 'table' and api.nvim_win_is_valid(win) and api.nvim_win_get_buf(win) == buf then
      local count = api.nvim_buf_line_count(buf)
      api.nvim_win_set_cursor(win, { math.min(next_pos.line + 1, count), 0 })
    end
  end)
end

--- Runs the cells above `line`, one run per cell (each keeps its lines for status marks and
--- diagnostics), each after the previous one finished; a cell that fails stops the rest.
local function run_above_at(buf, line)
  cell_at(buf, line, function(result)
    local cells = vim.tbl_filter(function(cell)
      return type(cell) == 'table' and type(cell.code) == 'string' and vim.trim(cell.code) ~= ''
    end, type(result.above) == 'table' and result.above or {})
    if #cells == 0 then
      notify('nothing to run: no cell above', vim.log.levels.INFO)
      return
    end
    local i = 0
    local function step(ok)
      i = i + 1
      if not ok or not cells[i] or not api.nvim_buf_is_valid(buf) then
        return
      end
      run_daemon_cell(buf, cells[i], step)
    end
    step(true)
  end)
end

--- Runs the cell under the cursor (the daemon finds it: runbridge/cellAt).
function M.run_cell()
  run_cell_at(api.nvim_get_current_buf(), api.nvim_win_get_cursor(0)[1] - 1)
end

--- Runs the cell under the cursor, then moves the cursor to the next cell's code.
function M.run_cell_next()
  run_cell_at(api.nvim_get_current_buf(), api.nvim_win_get_cursor(0)[1] - 1, api.nvim_get_current_win())
end

--- Runs the cells above the one under the cursor, each as its own run, in order.
function M.run_above()
  run_above_at(api.nvim_get_current_buf(), api.nvim_win_get_cursor(0)[1] - 1)
end

--- The buffer of a code lens command's {uri, line} argument.
local function lens_target(command, ctx)
  local arg = type(command) == 'table' and type(command.arguments) == 'table' and command.arguments[1] or nil
  if type(arg) ~= 'table' or type(arg.line) ~= 'number' then
    notify('a code lens without {uri, line}', vim.log.levels.ERROR)
    return nil
  end
  local buf = ctx and ctx.bufnr
  if type(arg.uri) == 'string' and (not buf or documents().uri(buf) ~= arg.uri) then
    buf = vim.uri_to_bufnr(arg.uri)
  end
  return buf, arg.line
end

--- The daemon's "Run Cell" lens (runbridge.server.runCell) run from vim.lsp.codelens.run().
function M.lens_run_cell(command, ctx)
  local buf, line = lens_target(command, ctx)
  if buf then
    run_cell_at(buf, line)
  end
end

--- The daemon's "Run Above" lens (runbridge.server.runAbove).
function M.lens_run_above(command, ctx)
  local buf, line = lens_target(command, ctx)
  if buf then
    run_above_at(buf, line)
  end
end

--- Runs the whole current buffer.
function M.run_file()
  local buf = api.nvim_get_current_buf()
  M.run_range(buf, 1, api.nvim_buf_line_count(buf))
end

local function ask(prompt, default, cb)
  vim.ui.input({ prompt = prompt, default = default }, cb)
end

--- Batch run: uploads files, then runs the build and exec shell commands in the work folder.
--- Missing fields are asked for with vim.ui.input.
---@param opts? {files?: string[], build?: string, exec?: string, session?: string}
function M.run_batch(opts)
  opts = vim.deepcopy(opts or {})
  local file = api.nvim_buf_get_name(0)
  local function go()
    local session = opts.session or sessions().current()
    local function start()
      local options = {}
      if opts.build and opts.build ~= '' then
        options.build = opts.build
      end
      if opts.exec and opts.exec ~= '' then
        options.exec = opts.exec
      end
      if not options.build and not options.exec then
        notify('batch mode needs a build or an exec command', vim.log.levels.WARN)
        return
      end
      runner().run({
        code = '',
        session = session,
        mode = 'batch',
        options = options,
        label = 'batch: ' .. (options.exec or options.build),
      })
    end
    if #opts.files == 0 then
      return start()
    end
    M.upload(opts.files, nil, start, session)
  end
  local steps = {
    function(next)
      if opts.files then
        return next()
      end
      ask('Files to upload (space-separated, empty for none): ', file ~= '' and vim.fn.fnamemodify(file, ':.') or '', function(v)
        if v == nil then
          return
        end
        opts.files = vim.split(vim.trim(v), '%s+', { trimempty = true })
        next()
      end)
    end,
    function(next)
      if opts.build then
        return next()
      end
      ask('Build command (* = default build, empty for none): ', '', function(v)
        if v == nil then
          return
        end
        opts.build = v
        next()
      end)
    end,
    function(next)
      if opts.exec then
        return next()
      end
      local default = file ~= '' and vim.bo.filetype == 'python' and ('python ' .. vim.fn.fnamemodify(file, ':t')) or '*'
      ask('Exec command (* = python main.py): ', default, function(v)
        if v == nil then
          return
        end
        opts.exec = v
        next()
      end)
    end,
  }
  local i = 0
  local function next()
    i = i + 1
    if steps[i] then
      steps[i](next)
    else
      go()
    end
  end
  next()
end

local function open_session(name, profile, image)
  local previous = sessions().current()
  sessions().set_current(name)
  require('runbridge.documents').bind(api.nvim_get_current_buf(), name)
  local params = { name = name, profile = profile, image = image }
  client().request('runbridge/openSession', params, function(err, info)
    if err then
      if sessions().current() == name then
        sessions().set_current(previous)
      end
      notify(('session %s: %s'):format(name, client().error_message(err)), vim.log.levels.ERROR)
      return
    end
    sessions().update(info)
    notify(
      ('session %s %s (%s%s)'):format(
        info.name,
        info.created and 'started' or 'selected',
        tostring(info.profile),
        type(info.image) == 'string' and (', ' .. info.image) or ''
      )
    )
  end)
end

--- Opens (or reuses) a session and makes it current; with no name, asks for one.
---@param name? string
---@param profile? string
---@param image? string
function M.session(name, profile, image)
  if name and name ~= '' then
    return open_session(name, profile, image)
  end
  ask('Session name: ', sessions().current(), function(v)
    if v and vim.trim(v) ~= '' then
      open_session(vim.trim(v), profile, image)
    end
  end)
end

--- Binds a runbridge name to a kernel or session that runs on the server (runbridge/openSession
--- with attach), asking the name (default: the daemon's suggestedName); one already attached is
--- made current.
---@param entry table a RemoteSession of runbridge/listRemote (it names its profile)
function M.attach(entry)
  local function bound(name)
    sessions().set_current(name)
    require('runbridge.documents').bind(api.nvim_get_current_buf(), name)
  end
  if type(entry.attachedAs) == 'string' then
    bound(entry.attachedAs)
    notify('current session: ' .. entry.attachedAs)
    return
  end
  vim.ui.input({ prompt = ('runbridge name for %s: '):format(entry.label), default = entry.suggestedName }, function(name)
    if not name or vim.trim(name) == '' then
      return
    end
    client().request('runbridge/openSession', { name = name, profile = entry.profile, attach = entry.id }, function(err, info)
      if err then
        notify(('%s: %s'):format(name, client().error_message(err)), vim.log.levels.ERROR)
        return
      end
      sessions().update(info)
      bound(name)
      notify(('session %s attached to %s'):format(name, entry.label))
    end)
  end)
end

--- The picker: the daemon's open sessions, "new session…", then (under "on the server") what
--- runbridge/listRemote lists on every remote profile, attached on pick.
function M.sessions()
  client().request('runbridge/listSessions', vim.empty_dict(), function(err, result)
    if err then
      notify(client().error_message(err), vim.log.levels.ERROR)
      return
    end
    local items = {}
    for _, info in ipairs(result.sessions or {}) do
      sessions().update(info)
      table.insert(items, info)
    end
    table.insert(items, { new = true })
    local current = sessions().current()
    client().request('runbridge/listRemote', { allProfiles = true }, function(rerr, remote)
      if rerr then
        notify('on the server: ' .. client().error_message(rerr), vim.log.levels.WARN)
      else
        for _, failure in ipairs(remote.failures or {}) do
          notify(('on the server of profile %s: %s'):format(failure.profile, failure.message), vim.log.levels.WARN)
        end
        if #(remote.sessions or {}) > 0 then
          table.insert(items, { separator = true })
          for _, entry in ipairs(remote.sessions) do
            table.insert(items, { remote = entry })
          end
        end
      end
      vim.ui.select(items, {
        prompt = 'runbridge sessions',
        format_item = function(item)
          if item.new then
            return 'new session…'
          elseif item.separator then
            return '── on the server ──'
          elseif item.remote then
            local entry = item.remote
            return ('  %s  %s'):format(entry.label, entry.description)
          end
          return ('%s%s  %s  %s%s'):format(
            item.name == current and '* ' or '  ',
            item.name,
            tostring(item.profile),
            tostring(item.state),
            type(item.image) == 'string' and ('  ' .. item.image) or ''
          )
        end,
      }, function(choice)
        if not choice or choice.separator then
          return
        end
        if choice.new then
          return M.session()
        end
        if choice.remote then
          return M.attach(choice.remote)
        end
        sessions().set_current(choice.name)
        require('runbridge.documents').bind(api.nvim_get_current_buf(), choice.name)
        notify('current session: ' .. choice.name)
      end)
    end)
  end)
end

--- The current session's name.
---@return string
function M.current_session()
  return sessions().current()
end

local function session_request(method, name, done_msg, extra)
  name = (name and name ~= '') and name or sessions().current()
  local params = method == 'runbridge/closeSession' and { name = name } or { session = name }
  params = vim.tbl_extend('force', params, extra or {})
  client().request(method, params, function(err, info)
    if err then
      notify(('%s: %s'):format(name, client().error_message(err)), vim.log.levels.ERROR)
      return
    end
    sessions().update(info)
    if type(info) == 'table' and type(info.message) == 'string' then
      notify(info.message) -- closeSession: the daemon's line
    elseif done_msg then
      notify(done_msg:format(name))
    end
  end)
end

--- Interrupts the session's run and cancels the runs queued behind it.
---@param name? string default: the current session
function M.interrupt(name)
  session_request('runbridge/interrupt', name)
end

--- Replaces the session's kernel with a fresh one (variables are lost).
---@param name? string
function M.restart(name)
  session_request('runbridge/restart', name, 'session %s restarted')
end

--- Closes the session (kernel, terminals, batch processes).
---@param name? string
function M.close(name)
  session_request('runbridge/closeSession', name)
end

--- Closes a session and, when runbridge attached it, ends it on the server too.
---@param name? string default: the current session
function M.destroy(name)
  session_request('runbridge/closeSession', name, nil, { destroy = true })
end

--- Uploads local files into the session's work folder (dest is relative to it).
---@param files string[]
---@param dest? string
---@param on_done? fun(result: table)
---@param session? string
function M.upload(files, dest, on_done, session)
  session = session or sessions().current()
  local paths = {}
  for _, f in ipairs(type(files) == 'string' and { files } or files or {}) do
    table.insert(paths, vim.fn.fnamemodify(vim.fn.expand(f), ':p'))
  end
  if #paths == 0 then
    notify('upload: no files given', vim.log.levels.WARN)
    return
  end
  local params = { session = session, files = paths }
  if dest and dest ~= '' then
    params.dest = dest
  end
  client().request('runbridge/upload', params, function(err, result)
    if err then
      notify('upload: ' .. client().error_message(err), vim.log.levels.ERROR)
      return
    end
    local names = {}
    for _, f in ipairs(result.files or {}) do
      table.insert(names, f.path)
    end
    notify(('uploaded to session %s: %s'):format(session, table.concat(names, ', ')))
    if on_done then
      on_done(result)
    end
  end)
end

--- Downloads files (relative to the session's work folder) into a local folder (default: cwd).
---@param files string[]
---@param dest? string
function M.download(files, dest)
  local session = sessions().current()
  files = type(files) == 'string' and { files } or files or {}
  if #files == 0 then
    notify('download: no files given', vim.log.levels.WARN)
    return
  end
  dest = vim.fn.fnamemodify(vim.fn.expand((dest and dest ~= '') and dest or vim.fn.getcwd()), ':p')
  client().request('runbridge/download', { session = session, files = files, dest = dest }, function(err, result)
    if err then
      notify('download: ' .. client().error_message(err), vim.log.levels.ERROR)
      return
    end
    local names = {}
    for _, f in ipairs(result.files or {}) do
      table.insert(names, f.path)
    end
    notify('downloaded: ' .. table.concat(names, ', '))
  end)
end

--- Opens a new remote terminal on the session in a split.
---@param name? string
---@return integer bufnr
function M.terminal(name)
  name = (name and name ~= '') and name or sessions().current()
  return require('runbridge.terminal').open(name)
end

--- :Runbridge terminal: offers to reattach to the session's running terminals that no buffer
--- here shows (vim.ui.select), else opens a new one.
---@param name? string
function M.terminal_menu(name)
  name = (name and name ~= '') and name or sessions().current()
  require('runbridge.terminal').open_or_attach(name)
end

--- Attaches a split to a running terminal of the daemon (its recent output replayed).
---@param terminal_id string
---@param name? string its session (for the buffer name)
---@return integer bufnr
function M.attach_terminal(terminal_id, name)
  name = (name and name ~= '') and name or sessions().current()
  return require('runbridge.terminal').attach(terminal_id, name)
end

--- Stops the daemon (runbridge/stopDaemon): the session host closes every session (local
--- kernels and terminals; remote sessions as their profile's keep_sessions says) and exits.
---@param on_done? fun(ok: boolean)
function M.stop(on_done)
  client().request('runbridge/stopDaemon', vim.empty_dict(), function(err)
    if err then
      notify('stop: ' .. client().error_message(err), vim.log.levels.ERROR)
      if on_done then
        on_done(false)
      end
      return
    end
    local c = client().get()
    if c then
      if vim.fn.has('nvim-0.11') == 1 then
        c:stop()
      else
        c.stop()
      end
    end
    notify('the daemon stopped; its sessions are closed')
    if on_done then
      on_done(true)
    end
  end)
end

--- Shows the session's output buffer in a split. Starts the client if needed: attaching writes
--- the earlier output of the daemon's sessions into their buffers.
---@param name? string
---@return integer bufnr
function M.output(name)
  name = (name and name ~= '') and name or sessions().current()
  client().ensure()
  return (require('runbridge.output').show(name, true))
end

--- The session's output buffer, or nil (no window change).
---@param name? string
---@return integer?
function M.output_buf(name)
  name = (name and name ~= '') and name or sessions().current()
  return require('runbridge.output').buf(name)
end

--- Opens the daemon's log file in a split.
function M.log()
  client().when_ready(function(c, why)
    if not c then
      notify(why or 'the daemon is not running', vim.log.levels.ERROR)
      return
    end
    local caps = client().capabilities()
    local path = caps and caps.logFile
    if type(path) ~= 'string' or path == '' then
      notify('the daemon did not say where its log is', vim.log.levels.WARN)
      return
    end
    vim.cmd('split ' .. vim.fn.fnameescape(path))
    vim.bo.autoread = true
    vim.bo.readonly = true
    api.nvim_win_set_cursor(0, { api.nvim_buf_line_count(0), 0 })
  end)
end

--- Opens the newest media file (or path) with the system opener.
---@param path? string
function M.open_media(path)
  require('runbridge.media').open(path)
end

--- Statusline text: "runbridge: NAME (PROFILE) STATE" of the current session.
---@return string
function M.status()
  return sessions().status()
end

--- The session of a buffer: the one picked in it (:Runbridge session, :Runbridge sessions),
--- else the one the daemon bound its document to (runbridge/documentBound: the session of its
--- last run, else the default session), else the current session.
---@param bufnr? integer default: the current buffer
---@return string
function M.buffer_session(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and api.nvim_get_current_buf() or bufnr
  local docs = require('runbridge.documents')
  return docs.picked_session(bufnr) or docs.bound_session(bufnr) or sessions().current()
end

--- Statusline text for a buffer: "runbridge: NAME (PROFILE) STATE[ · SUMMARY]" of its session
--- (buffer_session), the session its completion, hover and variables come from.
---@param bufnr? integer default: the current buffer
---@return string
function M.statusline(bufnr)
  return sessions().status(M.buffer_session(bufnr))
end

--- Shows the variables of the buffer's session (runbridge/variables) in a floating window.
---@param name? string default: the current buffer's session
function M.variables(name)
  name = (name and name ~= '') and name or M.buffer_session()
  require('runbridge.variables').show(name)
end

--- Media files saved so far, newest last.
---@return runbridge.MediaFile[]
function M.media_files()
  return require('runbridge.media').list()
end

return M
