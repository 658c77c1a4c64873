---@mod runbridge.pacer Paces text into a terminal channel so a flood never freezes the editor
--- (port of the VS Code client's outputBuffer.ts). Writes are gathered and handed to the sink in
--- chunks of at most `chunk` bytes per tick; when more than `max_pending` bytes wait, the oldest
--- waiting text is dropped and replaced by one note (the daemon's transcript keeps everything).

local uv = vim.uv or vim.loop

local M = {}

M.defaults = { chunk = 64 * 1024, max_pending = 2 * 1024 * 1024, interval = 16 }

---@param bytes integer
---@return string
function M.skipped_note(bytes)
  local kb = math.max(1, math.floor(bytes / 1024 + 0.5))
  return '\r\n\27[33m[runbridge: '
    .. kb
    .. ' KB of output skipped here to keep the editor responsive; the session transcript keeps all of it]\27[39m\r\n'
end

--- The largest n <= limit such that s:sub(1, n) does not end inside a UTF-8 sequence.
local function utf8_cut(s, limit)
  local n = limit
  while n > 0 do
    local b = s:byte(n + 1)
    if not b or b < 0x80 or b >= 0xC0 then
      break
    end
    n = n - 1
  end
  if n == 0 then
    n = limit -- a malformed run of continuation bytes: cut anyway
  end
  return n
end

---@class runbridge.Pacer
---@field private sink fun(text: string)
---@field private opts {chunk: integer, max_pending: integer, interval: integer}
---@field private pending string[]
---@field private pending_bytes integer
---@field private skipped integer
---@field private timer? uv.uv_timer_t
---@field private ticking boolean
local Pacer = {}
Pacer.__index = Pacer

---@param sink fun(text: string) called on the main loop (API calls allowed)
---@param opts? {chunk?: integer, max_pending?: integer, interval?: integer}
---@return runbridge.Pacer
function M.new(sink, opts)
  local self = setmetatable({}, Pacer)
  self.sink = sink
  self.opts = vim.tbl_extend('force', M.defaults, opts or {})
  self.pending = {}
  self.pending_bytes = 0
  self.skipped = 0
  self.ticking = false
  return self
end

--- Bytes waiting to be written.
function Pacer:waiting()
  return self.pending_bytes
end

---@param text string
function Pacer:write(text)
  if not text or text == '' then
    return
  end
  table.insert(self.pending, text)
  self.pending_bytes = self.pending_bytes + #text
  self:trim()
  if not self.ticking then
    -- the first write of a quiet stream goes out at once
    self:tick()
  end
end

--- Counts bytes as skipped without taking them in, and drops what waits: for a piece of text
--- so large that only its tail would survive trim() (cheaper than converting all of it).
---@param bytes integer
function Pacer:skip(bytes)
  self.skipped = self.skipped + self.pending_bytes + bytes
  self.pending = {}
  self.pending_bytes = 0
end

--- Drops everything waiting (a cleared output).
function Pacer:clear()
  self.pending = {}
  self.pending_bytes = 0
  self.skipped = 0
end

--- Writes everything now.
function Pacer:flush_all()
  self:stop_timer()
  local text = self:take_note() .. table.concat(self.pending)
  self:clear()
  if text ~= '' then
    self.sink(text)
  end
end

function Pacer:dispose()
  self:stop_timer()
  self:clear()
  if self.timer and not self.timer:is_closing() then
    self.timer:close()
  end
  self.timer = nil
end

---@private
function Pacer:stop_timer()
  if self.timer then
    self.timer:stop()
  end
  self.ticking = false
end

---@private
function Pacer:trim()
  local max = self.opts.max_pending
  while self.pending_bytes > max and #self.pending > 0 do
    local over = self.pending_bytes - max
    local first = self.pending[1]
    if #first <= over then
      table.remove(self.pending, 1)
      self.pending_bytes = self.pending_bytes - #first
      self.skipped = self.skipped + #first
    else
      -- cut at a line start where possible, so a half line is not shown
      local nl = first:find('\n', over + 1, true)
      local cut = nl or #first
      self.pending[1] = first:sub(cut + 1)
      self.pending_bytes = self.pending_bytes - cut
      self.skipped = self.skipped + cut
      if self.pending[1] == '' then
        table.remove(self.pending, 1)
      end
    end
  end
end

---@private
function Pacer:take_note()
  if self.skipped == 0 then
    return ''
  end
  local note = M.skipped_note(self.skipped)
  self.skipped = 0
  return note
end

---@private
function Pacer:tick()
  self.ticking = false
  if self.pending_bytes == 0 and self.skipped == 0 then
    return
  end
  local out = { self:take_note() }
  local budget = self.opts.chunk
  while budget > 0 and #self.pending > 0 do
    local first = self.pending[1]
    if #first <= budget then
      table.insert(out, first)
      budget = budget - #first
      table.remove(self.pending, 1)
      self.pending_bytes = self.pending_bytes - #first
    else
      local n = utf8_cut(first, budget)
      table.insert(out, first:sub(1, n))
      self.pending[1] = first:sub(n + 1)
      self.pending_bytes = self.pending_bytes - n
      budget = 0
    end
  end
  local ok, err = pcall(self.sink, table.concat(out))
  -- Tick again after an interval even when nothing waits now, so that a burst
  -- right behind this write is paced too (an idle tick just ends the cycle).
  self.ticking = true
  if not self.timer or self.timer:is_closing() then
    self.timer = assert(uv.new_timer())
  end
  self.timer:start(
    self.opts.interval,
    0,
    vim.schedule_wrap(function()
      if self.ticking then
        self:tick()
      end
    end)
  )
  if not ok then
    error(err)
  end
end

return M
