---@mod runbridge.media Image, SVG and HTML records saved to files; shown inline through
--- image.nvim or snacks.nvim when installed, else announced with the path (:Runbridge open-media).

local api = vim.api

local M = {}

---@class runbridge.MediaFile
---@field path string
---@field kind string
---@field session string
---@field run_id string

---@type runbridge.MediaFile[]
local files = {}
local counter = 0
---@type table<string, {close: fun()}[]> inline images per "buf:row"
local shown = {}
---@class runbridge.ShownDisplay
---@field file runbridge.MediaFile the entry in `files` that shows it
---@field origin? {buf: integer, row: integer} where it is shown inline
---@field inline? {close: fun()}

---@type table<string, runbridge.ShownDisplay> displays with an id, per "session\0id"
local displays = {}

local EXT = {
  ['image/png'] = 'png',
  ['image/jpeg'] = 'jpg',
  ['image/gif'] = 'gif',
  ['image/webp'] = 'webp',
  ['image/bmp'] = 'bmp',
  ['image/svg+xml'] = 'svg',
  ['text/html'] = 'html',
}

local RASTER = { png = true, jpg = true, gif = true, webp = true, bmp = true }

--- Bytes of a data URI (base64 or percent-encoded), or nil when data is not a data URI.
---@param data string
---@return string?
function M.decode_data_uri(data)
  local header, payload = data:match('^%s*data:([^,]*),(.*)$')
  if not header then
    return nil
  end
  if header:lower():match(';base64$') then
    local ok, bytes = pcall(vim.base64.decode, (payload:gsub('%s+', '')))
    return ok and bytes or nil
  end
  return (payload:gsub('%%(%x%x)', function(h)
    return string.char(tonumber(h, 16))
  end))
end

local function safe(name)
  return (tostring(name):gsub('[^%w_.-]', '_'))
end

--- The file content for a media record, or nil + reason.
---@param kind string
---@param data string
---@return string?, string?
function M.content(kind, data)
  local ext = EXT[kind] or (vim.startswith(kind, 'image/') and 'bin') or nil
  if not ext then
    return nil, 'not a media kind'
  end
  if RASTER[ext] or ext == 'bin' then
    local bytes = M.decode_data_uri(data)
    if not bytes and data:match('^[%w+/=%s]+$') then
      local ok, raw = pcall(vim.base64.decode, (data:gsub('%s+', '')))
      bytes = ok and raw or nil
    end
    if not bytes then
      return nil, 'the image data is not a base64 data URI'
    end
    return bytes
  end
  if kind == 'image/svg+xml' then
    return M.decode_data_uri(data) or data
  end
  if kind == 'text/html' and not data:lower():find('<html', 1, true) then
    return '<!doctype html>\n<html><head><meta charset="utf-8"><title>runbridge output</title></head><body>\n'
      .. data
      .. '\n</body></html>\n'
  end
  return data
end

--- Saves a media record; returns the path or nil + reason.
---@param session string
---@param run_id string
---@param kind string
---@param data string
---@return string?, string?
function M.save(session, run_id, kind, data)
  local content, why = M.content(kind, data)
  if not content then
    return nil, why
  end
  local dir = require('runbridge.config').get().media.dir
  vim.fn.mkdir(dir, 'p')
  counter = counter + 1
  local ext = EXT[kind] or 'bin'
  local path = vim.fs.joinpath(
    dir,
    ('%s-%s-%d-%d.%s'):format(safe(session), safe(run_id or 'run'), vim.fn.getpid(), counter, ext)
  )
  local f, err = io.open(path, 'wb')
  if not f then
    return nil, err
  end
  f:write(content)
  f:close()
  table.insert(files, { path = path, kind = kind, session = session, run_id = run_id })
  return path
end

---@return runbridge.MediaFile[]
function M.list()
  return vim.deepcopy(files)
end

---@return string? the newest media file
function M.last()
  return files[#files] and files[#files].path
end

--- 'image.nvim', 'snacks' or nil: the inline provider in use.
---@return string?
function M.provider()
  local want = require('runbridge.config').get().media.provider
  if want == 'none' then
    return nil
  end
  if want == 'auto' or want == 'image.nvim' then
    if pcall(require, 'image') then
      return 'image.nvim'
    end
  end
  if want == 'auto' or want == 'snacks' then
    local ok, snacks = pcall(require, 'snacks')
    if ok and type(snacks) == 'table' and snacks.image and snacks.image.placement then
      return 'snacks'
    end
  end
  return nil
end

local function window_of(buf)
  for _, win in ipairs(api.nvim_tabpage_list_wins(0)) do
    if api.nvim_win_get_buf(win) == buf then
      return win
    end
  end
end

--- Shows a raster image under 0-based row of buf; returns true when a provider showed it.
---@param path string
---@param buf integer
---@param row integer
---@return boolean
function M.show_inline(path, buf, row)
  return M.place_inline(path, buf, row) ~= nil
end

--- Like show_inline; returns the handle that removes the image (nil when not shown).
---@param path string
---@param buf integer
---@param row integer
---@return {close: fun()}?
function M.place_inline(path, buf, row)
  local provider = M.provider()
  local ext = path:match('%.(%w+)$')
  if not provider or not RASTER[ext] or not api.nvim_buf_is_valid(buf) then
    return nil
  end
  local key = buf .. ':' .. row
  local ok, handle = pcall(function()
    if provider == 'image.nvim' then
      local img = require('image').from_file(path, {
        window = window_of(buf),
        buffer = buf,
        with_virtual_padding = true,
        inline = true,
        x = 0,
        y = row,
      })
      if not img then
        return nil
      end
      img:render()
      return {
        close = function()
          img:clear()
        end,
      }
    end
    local placement = require('snacks').image.placement.new(buf, path, { inline = true, pos = { row + 1, 0 } })
    return {
      close = function()
        placement:close()
      end,
    }
  end)
  if ok and handle then
    shown[key] = shown[key] or {}
    table.insert(shown[key], handle)
    return handle
  end
  return nil
end

--- Removes inline images on 0-based rows first..last of buf.
---@param buf integer
---@param first integer
---@param last integer
function M.clear_inline(buf, first, last)
  for row = first, last do
    local key = buf .. ':' .. row
    for _, handle in ipairs(shown[key] or {}) do
      pcall(handle.close)
    end
    shown[key] = nil
  end
end

--- Saves the record, shows it inline when possible, and tells the user where it is.
---@param session string
---@param run_id string
---@param kind string
---@param data string
---@param origin? {buf: integer, row: integer}
---@return string?
---@param display? {displayId: string, update?: boolean} the Jupyter display it belongs to
---@param quiet? boolean no message for this file (earlier output replayed on attach)
function M.handle(session, run_id, kind, data, origin, display, quiet)
  if display and display.update then
    return M.update(session, run_id, kind, data, display.displayId)
  end
  local path, why = M.save(session, run_id, kind, data)
  if not path then
    vim.notify(('runbridge: could not save %s output: %s'):format(kind, why or '?'), vim.log.levels.WARN)
    return nil
  end
  local inline = origin and M.place_inline(path, origin.buf, origin.row)
  if display and type(display.displayId) == 'string' then
    displays[session .. '\0' .. display.displayId] = { file = files[#files], origin = origin, inline = inline }
  end
  if quiet then
    return path
  end
  vim.notify(
    ('runbridge: %s saved to %s%s'):format(kind, path, inline and '' or ' (:Runbridge open-media to open it)'),
    vim.log.levels.INFO
  )
  return path
end

--- A display update: the display's file is rewritten in place (same path when the kind keeps
--- its extension) and its inline image redrawn; an update of a display not shown here is
--- ignored, as Jupyter front ends do. Quiet: an animation may update many times a second.
---@param session string
---@param run_id string
---@param kind string
---@param data string
---@param display_id string
---@return string? path
function M.update(session, run_id, kind, data, display_id)
  local entry = displays[session .. '\0' .. tostring(display_id)]
  if not entry then
    return nil
  end
  local content, why = M.content(kind, data)
  if not content then
    vim.notify(('runbridge: could not save %s output: %s'):format(kind, why or '?'), vim.log.levels.WARN)
    return nil
  end
  local file = entry.file
  local ext = EXT[kind] or 'bin'
  if file.path:match('%.(%w+)$') ~= ext then
    file.path = file.path:gsub('%.%w+$', '.' .. ext)
  end
  local f, err = io.open(file.path, 'wb')
  if not f then
    vim.notify(('runbridge: could not save %s output: %s'):format(kind, err or '?'), vim.log.levels.WARN)
    return nil
  end
  f:write(content)
  f:close()
  file.kind, file.run_id = kind, run_id
  if entry.inline then
    pcall(entry.inline.close)
    entry.inline = nil
  end
  if entry.origin then
    entry.inline = M.place_inline(file.path, entry.origin.buf, entry.origin.row)
  end
  return file.path
end

--- Opens a media file (default: the newest) with the system opener.
---@param path? string
function M.open(path)
  path = (path and path ~= '') and vim.fn.expand(path) or M.last()
  if not path then
    vim.notify('runbridge: no media saved yet', vim.log.levels.INFO)
    return
  end
  if not vim.ui.open then
    vim.notify('runbridge: vim.ui.open needs Neovim 0.10; the file is ' .. path, vim.log.levels.WARN)
    return
  end
  local cmd, err = vim.ui.open(path)
  if not cmd and err then
    vim.notify('runbridge: could not open ' .. path .. ': ' .. err, vim.log.levels.ERROR)
  end
end

return M
