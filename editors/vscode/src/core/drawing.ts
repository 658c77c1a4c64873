// Backend.AI drawings (`application/x-sorna-drawing`) rendered to SVG.
//
// On Backend.AI the record's data is base64 of a msgpack list of commands; on the
// local backend it is whatever the kernel displayed, usually the same list as JSON.
// Commands (one canvas may span several records; the last state is drawn):
//   [cid, "canvas", width, height, bg, fg]        [cid, "bgcolor", c]   [cid, "fgcolor", c]
//   [cid, "obj", oid, ["line", x1, y1, x2, y2, color]]
//   [cid, "obj", oid, ["circle", x, y, radius, border, fill, angle]]
//   [cid, "obj", oid, ["rect" | "triangle", left, top, width, height, border, fill, angle]]
//   [cid, "update", oid, prop, value]              (x, y, x1, y1, x2, y2, radius, angle,
//                                                    rotate, color, border, fill)
//   stop-anim, resume-anim, begin-group, end-group, begin-fill, end-fill: no effect on a still picture.
// Colours are "#rrggbbaa". No `vscode` import.

type Value = null | boolean | number | string | Uint8Array | Value[] | { [key: string]: Value };

/** Decode one msgpack value (the subset Python's msgpack writes for these commands). */
export function decodeMsgpack(bytes: Uint8Array): Value {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  const text = new TextDecoder();
  const need = (n: number): void => {
    if (pos + n > bytes.length) {
      throw new Error('truncated msgpack data');
    }
  };
  const str = (n: number): string => {
    need(n);
    const s = text.decode(bytes.subarray(pos, pos + n));
    pos += n;
    return s;
  };
  const bin = (n: number): Uint8Array => {
    need(n);
    const b = bytes.slice(pos, pos + n);
    pos += n;
    return b;
  };
  const array = (n: number): Value[] => {
    const out: Value[] = [];
    for (let i = 0; i < n; i++) {
      out.push(read());
    }
    return out;
  };
  const map = (n: number): { [key: string]: Value } => {
    const out: { [key: string]: Value } = {};
    for (let i = 0; i < n; i++) {
      const key = read();
      out[String(key)] = read();
    }
    return out;
  };
  const u = (size: 1 | 2 | 4 | 8): number => {
    need(size);
    const v =
      size === 1
        ? view.getUint8(pos)
        : size === 2
          ? view.getUint16(pos)
          : size === 4
            ? view.getUint32(pos)
            : Number(view.getBigUint64(pos));
    pos += size;
    return v;
  };
  const i = (size: 1 | 2 | 4 | 8): number => {
    need(size);
    const v =
      size === 1
        ? view.getInt8(pos)
        : size === 2
          ? view.getInt16(pos)
          : size === 4
            ? view.getInt32(pos)
            : Number(view.getBigInt64(pos));
    pos += size;
    return v;
  };
  function read(): Value {
    need(1);
    const b = bytes[pos++];
    if (b <= 0x7f) return b;
    if (b >= 0xe0) return b - 0x100;
    if ((b & 0xf0) === 0x80) return map(b & 0x0f);
    if ((b & 0xf0) === 0x90) return array(b & 0x0f);
    if ((b & 0xe0) === 0xa0) return str(b & 0x1f);
    switch (b) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: return bin(u(1));
      case 0xc5: return bin(u(2));
      case 0xc6: return bin(u(4));
      case 0xca: { need(4); const v = view.getFloat32(pos); pos += 4; return v; }
      case 0xcb: { need(8); const v = view.getFloat64(pos); pos += 8; return v; }
      case 0xcc: return u(1);
      case 0xcd: return u(2);
      case 0xce: return u(4);
      case 0xcf: return u(8);
      case 0xd0: return i(1);
      case 0xd1: return i(2);
      case 0xd2: return i(4);
      case 0xd3: return i(8);
      case 0xd9: return str(u(1));
      case 0xda: return str(u(2));
      case 0xdb: return str(u(4));
      case 0xdc: return array(u(2));
      case 0xdd: return array(u(4));
      case 0xde: return map(u(2));
      case 0xdf: return map(u(4));
      default:
        throw new Error(`unsupported msgpack type 0x${b.toString(16)}`);
    }
  }
  return read();
}

/** The command list of a drawing record, or undefined when it is not one. */
export function parseDrawing(data: string): unknown[] | undefined {
  const trimmed = data.trim();
  if (trimmed.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      return Array.isArray(parsed) ? parsed : undefined;
    } catch {
      return undefined;
    }
  }
  if (!/^[A-Za-z0-9+/=\s]+$/.test(trimmed)) {
    return undefined;
  }
  try {
    const decoded = decodeMsgpack(Buffer.from(trimmed, 'base64'));
    return Array.isArray(decoded) ? decoded : undefined;
  } catch {
    return undefined;
  }
}

interface Shape {
  type: string;
  props: Record<string, number | string>;
}

interface CanvasState {
  width: number;
  height: number;
  bg: string;
  fg: string;
  objects: Map<number, Shape>;
}

const SHAPE_FIELDS: Record<string, string[]> = {
  line: ['x1', 'y1', 'x2', 'y2', 'color'],
  circle: ['x', 'y', 'radius', 'border', 'fill', 'angle'],
  rect: ['x', 'y', 'width', 'height', 'border', 'fill', 'angle'],
  triangle: ['x', 'y', 'width', 'height', 'border', 'fill', 'angle'],
};

const num = (v: unknown, fallback = 0): number => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);
/** A colour attribute value: only "#" and hex digits get through. */
const colour = (v: unknown, fallback: string): string =>
  typeof v === 'string' && /^#[0-9a-fA-F]{3,8}$/.test(v) ? v : fallback;

/** Apply the commands; returns the canvases in creation order. */
export function replayDrawing(commands: readonly unknown[]): CanvasState[] {
  const canvases = new Map<number, CanvasState>();
  for (const command of commands) {
    if (!Array.isArray(command) || command.length < 2) {
      continue;
    }
    const [cid, verb, ...args] = command as [unknown, unknown, ...unknown[]];
    const id = num(cid, -1);
    if (verb === 'canvas') {
      canvases.set(id, {
        width: Math.max(1, num(args[0], 100)),
        height: Math.max(1, num(args[1], 100)),
        bg: colour(args[2], '#ffffffff'),
        fg: colour(args[3], '#000000ff'),
        objects: new Map(),
      });
      continue;
    }
    const canvas = canvases.get(id);
    if (!canvas) {
      continue;
    }
    if (verb === 'bgcolor') {
      canvas.bg = colour(args[0], canvas.bg);
    } else if (verb === 'fgcolor') {
      canvas.fg = colour(args[0], canvas.fg);
    } else if (verb === 'obj' && Array.isArray(args[1])) {
      const [type, ...values] = args[1] as unknown[];
      const fields = typeof type === 'string' ? SHAPE_FIELDS[type] : undefined;
      if (!fields || typeof type !== 'string') {
        continue;
      }
      const props: Record<string, number | string> = {};
      fields.forEach((field, k) => {
        const v = values[k];
        if (typeof v === 'number' || typeof v === 'string') {
          props[field] = v;
        }
      });
      canvas.objects.set(num(args[0], -1), { type, props });
    } else if (verb === 'update') {
      const shape = canvas.objects.get(num(args[0], -1));
      const prop = args[1];
      const value = args[2];
      if (!shape || typeof prop !== 'string' || (typeof value !== 'number' && typeof value !== 'string')) {
        continue;
      }
      if (prop === 'rotate') {
        shape.props.angle = num(shape.props.angle) + num(value);
      } else {
        shape.props[prop] = value;
      }
    }
  }
  return [...canvases.values()];
}

function shapeSvg(shape: Shape, fg: string): string {
  const p = shape.props;
  const angle = num(p.angle);
  const border = colour(p.border, fg);
  const fill = colour(p.fill, '#00000000');
  switch (shape.type) {
    case 'line':
      return `<line x1="${num(p.x1)}" y1="${num(p.y1)}" x2="${num(p.x2)}" y2="${num(p.y2)}" stroke="${colour(p.color, fg)}"/>`;
    case 'circle': {
      const x = num(p.x);
      const y = num(p.y);
      const rotate = angle ? ` transform="rotate(${angle} ${x} ${y})"` : '';
      return `<circle cx="${x}" cy="${y}" r="${Math.max(0, num(p.radius))}" stroke="${border}" fill="${fill}"${rotate}/>`;
    }
    case 'rect':
    case 'triangle': {
      const x = num(p.x);
      const y = num(p.y);
      const w = num(p.width);
      const h = num(p.height);
      const rotate = angle ? ` transform="rotate(${angle} ${x} ${y})"` : '';
      if (shape.type === 'rect') {
        return `<rect x="${x}" y="${y}" width="${Math.max(0, w)}" height="${Math.max(0, h)}" stroke="${border}" fill="${fill}"${rotate}/>`;
      }
      // apex at the top middle, base along the bottom edge of the box
      const points = `${x + w / 2},${y} ${x + w},${y + h} ${x},${y + h}`;
      return `<polygon points="${points}" stroke="${border}" fill="${fill}"${rotate}/>`;
    }
    default:
      return '';
  }
}

/** SVG text of a drawing record (several canvases side by side), or undefined. */
export function drawingToSvg(data: string): string | undefined {
  const commands = parseDrawing(data);
  if (!commands) {
    return undefined;
  }
  const canvases = replayDrawing(commands);
  if (canvases.length === 0) {
    return undefined;
  }
  const gap = 8;
  const width = canvases.reduce((w, c) => w + c.width, 0) + gap * (canvases.length - 1);
  const height = Math.max(...canvases.map((c) => c.height));
  let offset = 0;
  const parts = canvases.map((c) => {
    const shapes = [...c.objects.values()].map((s) => shapeSvg(s, c.fg)).join('');
    const group = `<g transform="translate(${offset} 0)"><rect width="${c.width}" height="${c.height}" fill="${c.bg}"/>${shapes}</g>`;
    offset += c.width + gap;
    return group;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${parts.join('')}</svg>`;
}
