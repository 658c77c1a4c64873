// Code cells delimited by marker lines (`# %%` and friends). Pure: no `vscode` import.
//
// A document's cells: each marker line opens a cell that runs to the next marker
// line (exclusive) or the end of the document. The region before the first
// marker is a cell too (with `header: null`) when it holds a non-blank line.
// A document without any marker line has no cells at all.

/** One cell. All numbers are 0-based line numbers. */
export interface Cell {
  /** The marker line, or null for the region before the first marker. */
  header: number | null;
  /** First line of the cell's code: `header + 1`, or 0 for the leading region. */
  start: number;
  /** Exclusive end: the next marker line, or the document's line count. */
  end: number;
}

export const DEFAULT_MARKER = '^\\s*#\\s*%%';

/**
 * The marker pattern as a RegExp (no flags: `test` stays stateless).
 * Throws an Error naming the pattern when it is not a valid regular expression,
 * or when it matches an empty line (it would make every line a marker).
 */
export function compileMarker(pattern: string): RegExp {
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new Error(`Invalid cell marker pattern "${pattern}": ${why}`);
  }
  if (re.test('')) {
    throw new Error(`Invalid cell marker pattern "${pattern}": it matches an empty line, so every line would be a marker`);
  }
  return re;
}

/**
 * The marker pattern for a language: `markers[languageId]`, else `markers['*']`,
 * else `# %%`. Empty or non-string entries (a hand-edited settings.json) count as unset.
 */
export function markerFor(languageId: string, markers: Record<string, string>): string {
  const pick = (key: string): string | undefined => {
    const value: unknown = Object.prototype.hasOwnProperty.call(markers, key) ? markers[key] : undefined;
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  return pick(languageId) ?? pick('*') ?? DEFAULT_MARKER;
}

const isBlank = (line: string): boolean => line.trim() === '';

/** The cells of a document, in order; [] when no line matches `marker`. */
export function findCells(lines: readonly string[], marker: RegExp): Cell[] {
  const headers: number[] = [];
  lines.forEach((line, i) => {
    if (marker.test(line)) headers.push(i);
  });
  if (headers.length === 0) return [];
  const cells: Cell[] = [];
  if (lines.slice(0, headers[0]).some((line) => !isBlank(line))) {
    cells.push({ header: null, start: 0, end: headers[0] });
  }
  headers.forEach((header, i) => {
    cells.push({ header, start: header + 1, end: i + 1 < headers.length ? headers[i + 1] : lines.length });
  });
  return cells;
}

/** First line covered by a cell: its marker line, if it has one. */
export function cellTop(cell: Cell): number {
  return cell.header ?? cell.start;
}

/** The cell whose lines `[header ?? start, end)` contain `line`. */
export function cellAt(cells: readonly Cell[], line: number): Cell | undefined {
  return cells.find((cell) => cellTop(cell) <= line && line < cell.end);
}

/**
 * The cell's code: lines `start..end-1` joined by '\n', trailing blank lines removed.
 * Leading lines are kept so that line N of the text is line `start + N` of the document
 * (the daemon maps a traceback location back through the run's range by adding `start`).
 */
export function cellText(lines: readonly string[], cell: Cell): string {
  let end = Math.min(cell.end, lines.length);
  while (end > cell.start && isBlank(lines[end - 1])) end--;
  return lines.slice(cell.start, end).join('\n');
}

/**
 * The `start` of the cell after the one containing `line` (for "Run Cell and Advance");
 * when `line` is in no cell, of the first cell below it. Undefined when there is none.
 */
export function nextCellStart(cells: readonly Cell[], line: number): number | undefined {
  const current = cellAt(cells, line);
  const next = current
    ? cells[cells.indexOf(current) + 1]
    : cells.find((cell) => cellTop(cell) > line);
  return next?.start;
}

/**
 * The cells that end at or before the top of the cell containing `line` (for "Run Above"),
 * in document order. When `line` is in no cell, the cells ending at or before `line`.
 */
export function cellsAbove(cells: readonly Cell[], line: number): Cell[] {
  const current = cellAt(cells, line);
  const limit = current ? cellTop(current) : line;
  return cells.filter((cell) => cell.end <= limit);
}
