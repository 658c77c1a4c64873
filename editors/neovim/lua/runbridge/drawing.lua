---@mod runbridge.drawing Backend.AI drawings (`application/x-sorna-drawing`) rendered to SVG
--- (port of drawing.ts). Data is base64 of a msgpack command list (Backend.AI) or JSON (local).

local M = {}

local function is_list(v)
  return type(v) == 'table' and vim.islist(v)
end

--- The command list of a drawing record, or nil.
---@param data string
---@return table?
function M.parse(data)
  if type(data) == 'table' then
    return is_list(data) and data or nil
  end
  local trimmed = vim.trim(tostring(data))
  if trimmed:sub(1, 1) == '[' then
    local ok, parsed = pcall(vim.json.decode, trimmed)
    return ok and is_list(parsed) and parsed or nil
  end
  if not trimmed:match('^[%w+/=%s]+$') then
    return nil
  end
  local ok, bytes = pcall(vim.base64.decode, (trimmed:gsub('%s+', '')))
  if not ok then
    return nil
  end
  local ok2, decoded = pcall(vim.mpack.decode, bytes)
  return ok2 and is_list(decoded) and decoded or nil
end

local function num(v, fallback)
  if type(v) == 'number' and v == v and v ~= math.huge and v ~= -math.huge then
    return v
  end
  return fallback or 0
end

local function colour(v, fallback)
  if type(v) == 'string' and v:match('^#%x+$') and #v >= 4 and #v <= 9 then
    return v
  end
  return fallback
end

local function fmt(n)
  if n == math.floor(n) and math.abs(n) < 1e15 then
    return string.format('%d', n)
  end
  return string.format('%.15g', n)
end

local SHAPE_FIELDS = {
  line = { 'x1', 'y1', 'x2', 'y2', 'color' },
  circle = { 'x', 'y', 'radius', 'border', 'fill', 'angle' },
  rect = { 'x', 'y', 'width', 'height', 'border', 'fill', 'angle' },
  triangle = { 'x', 'y', 'width', 'height', 'border', 'fill', 'angle' },
}

--- Applies the commands; returns the canvases in creation order.
---@param commands table
function M.replay(commands)
  local canvases, order = {}, {}
  for _, command in ipairs(commands) do
    if is_list(command) and #command >= 2 then
      local id, verb = num(command[1], -1), command[2]
      local a = { unpack(command, 3) }
      if verb == 'canvas' then
        if not canvases[id] then
          table.insert(order, id)
        end
        canvases[id] = {
          width = math.max(1, num(a[1], 100)),
          height = math.max(1, num(a[2], 100)),
          bg = colour(a[3], '#ffffffff'),
          fg = colour(a[4], '#000000ff'),
          objects = {},
          object_order = {},
        }
      elseif canvases[id] then
        local canvas = canvases[id]
        if verb == 'bgcolor' then
          canvas.bg = colour(a[1], canvas.bg)
        elseif verb == 'fgcolor' then
          canvas.fg = colour(a[1], canvas.fg)
        elseif verb == 'obj' and is_list(a[2]) then
          local spec = a[2]
          local fields = type(spec[1]) == 'string' and SHAPE_FIELDS[spec[1]]
          if fields then
            local props = {}
            for k, field in ipairs(fields) do
              local v = spec[k + 1]
              if type(v) == 'number' or type(v) == 'string' then
                props[field] = v
              end
            end
            local oid = num(a[1], -1)
            if not canvas.objects[oid] then
              table.insert(canvas.object_order, oid)
            end
            canvas.objects[oid] = { type = spec[1], props = props }
          end
        elseif verb == 'update' then
          local shape = canvas.objects[num(a[1], -1)]
          local prop, value = a[2], a[3]
          if shape and type(prop) == 'string' and (type(value) == 'number' or type(value) == 'string') then
            if prop == 'rotate' then
              shape.props.angle = num(shape.props.angle) + num(value)
            else
              shape.props[prop] = value
            end
          end
        end
      end
    end
  end
  local out = {}
  for _, id in ipairs(order) do
    table.insert(out, canvases[id])
  end
  return out
end

local function shape_svg(shape, fg)
  local p = shape.props
  local angle = num(p.angle)
  local border = colour(p.border, fg)
  local fill = colour(p.fill, '#00000000')
  if shape.type == 'line' then
    return string.format(
      '<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>',
      fmt(num(p.x1)),
      fmt(num(p.y1)),
      fmt(num(p.x2)),
      fmt(num(p.y2)),
      colour(p.color, fg)
    )
  end
  local x, y = num(p.x), num(p.y)
  local rotate = angle ~= 0 and string.format(' transform="rotate(%s %s %s)"', fmt(angle), fmt(x), fmt(y)) or ''
  if shape.type == 'circle' then
    return string.format(
      '<circle cx="%s" cy="%s" r="%s" stroke="%s" fill="%s"%s/>',
      fmt(x),
      fmt(y),
      fmt(math.max(0, num(p.radius))),
      border,
      fill,
      rotate
    )
  end
  local w, h = num(p.width), num(p.height)
  if shape.type == 'rect' then
    return string.format(
      '<rect x="%s" y="%s" width="%s" height="%s" stroke="%s" fill="%s"%s/>',
      fmt(x),
      fmt(y),
      fmt(math.max(0, w)),
      fmt(math.max(0, h)),
      border,
      fill,
      rotate
    )
  end
  if shape.type == 'triangle' then
    local points = string.format('%s,%s %s,%s %s,%s', fmt(x + w / 2), fmt(y), fmt(x + w), fmt(y + h), fmt(x), fmt(y + h))
    return string.format('<polygon points="%s" stroke="%s" fill="%s"%s/>', points, border, fill, rotate)
  end
  return ''
end

--- SVG text of a drawing record (canvases side by side), or nil.
---@param data string
---@return string?
function M.to_svg(data)
  local commands = M.parse(data)
  if not commands then
    return nil
  end
  local canvases = M.replay(commands)
  if #canvases == 0 then
    return nil
  end
  local gap = 8
  local width, height = gap * (#canvases - 1), 0
  for _, c in ipairs(canvases) do
    width = width + c.width
    height = math.max(height, c.height)
  end
  local parts, offset = {}, 0
  for _, c in ipairs(canvases) do
    local shapes = {}
    for _, oid in ipairs(c.object_order) do
      table.insert(shapes, shape_svg(c.objects[oid], c.fg))
    end
    table.insert(
      parts,
      string.format(
        '<g transform="translate(%s 0)"><rect width="%s" height="%s" fill="%s"/>%s</g>',
        fmt(offset),
        fmt(c.width),
        fmt(c.height),
        c.bg,
        table.concat(shapes)
      )
    )
    offset = offset + c.width + gap
  end
  return string.format(
    '<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 %s %s">%s</svg>',
    fmt(width),
    fmt(height),
    fmt(width),
    fmt(height),
    table.concat(parts)
  )
end

return M
