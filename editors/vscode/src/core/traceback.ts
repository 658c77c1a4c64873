// Where in the sent code an exception was raised, from the run's plain-text traceback.
// Pure: no `vscode` import.
//
// Frames of the sent code look like:
//   ipykernel / IPython >= 8.5   "Cell In[3], line 5" (also ", in f(a)"; SyntaxError: "  Cell In[4], line 2")
//   IPython 8.0 - 8.4            "Input In [3], in <cell line: 1>()" then "----> 5 x / y"
//   IPython < 8                  "<ipython-input-3-9e16...> in <module>" then "----> 5 x / y";
//                                SyntaxError: '  File "<ipython-input-4-ab12...>", line 2'
//   Backend.AI / plain Python    '  File "<input>", line 5, in <module>' (also <string>, <stdin>)
//
// The sent code is the outermost such frame (the run's own cell); frames of earlier cells
// (functions defined there) have another cell id and are ignored. Of the sent code's
// frames, the last (innermost) one within 1..codeLineCount wins. Only the last chained
// exception is read ("During handling of the above exception, ...").

export interface ErrorLocation {
  /** 0-based line in the sent code. */
  line: number;
  /** `${ename}: ${evalue}` */
  message: string;
}

interface Frame {
  /** Which code the frame is in: a cell id, or the pseudo-file name. */
  id: string;
  /** 1-based line. */
  line: number;
}

const CELL = /^\s*Cell In\[(\d*)\], line (\d+)/;
const PSEUDO_FILE = /^\s*File "(<(?:string|input|stdin)>)", line (\d+)/;
const IPYTHON_INPUT_FILE = /^\s*File "<ipython-input-(\d+)-[0-9a-f]+>", line (\d+)/;
// Frame headers whose line number is on the following "---->" arrow line.
const IPYTHON_INPUT_HEADER = /^<ipython-input-(\d+)-[0-9a-f]+> in /;
const INPUT_IN_HEADER = /^Input In \[(\d*)\]/;
const ARROW = /^-+>\s*(\d+)/;
const SYNTAX_ERRORS = new Set(['SyntaxError', 'IndentationError', 'TabError']);

function framesOf(lines: readonly string[]): Frame[] {
  const frames: Frame[] = [];
  let pending: string | undefined; // a header waiting for its arrow line
  for (const line of lines) {
    let m: RegExpExecArray | null;
    if (pending !== undefined && (m = ARROW.exec(line))) {
      frames.push({ id: pending, line: Number(m[1]) });
      pending = undefined;
      continue;
    }
    // Any unindented line other than an arrow ends the current frame's context lines.
    if (!/^[\s-]/.test(line)) pending = undefined;
    if ((m = CELL.exec(line))) frames.push({ id: `cell ${m[1]}`, line: Number(m[2]) });
    else if ((m = PSEUDO_FILE.exec(line))) frames.push({ id: m[1], line: Number(m[2]) });
    else if ((m = IPYTHON_INPUT_FILE.exec(line))) frames.push({ id: `cell ${m[1]}`, line: Number(m[2]) });
    else if ((m = IPYTHON_INPUT_HEADER.exec(line)) || (m = INPUT_IN_HEADER.exec(line))) pending = `cell ${m[1]}`;
  }
  return frames;
}

/**
 * The line of the sent code where `error` was raised, or undefined when the traceback
 * names no line of it (the error came from elsewhere, or the format is unknown).
 */
export function locateError(
  error: { ename: string; evalue: string; traceback: string[] },
  codeLineCount: number,
): ErrorLocation | undefined {
  const message = `${error.ename}: ${error.evalue}`;
  // ipykernel sends one entry per frame, with embedded newlines; Backend.AI one per line.
  let lines = error.traceback.flatMap((entry) => entry.split(/\r?\n/));
  const lastChain = lines.map((l) => l.includes('Traceback (most recent call last)')).lastIndexOf(true);
  if (lastChain > 0) lines = lines.slice(lastChain);

  const frames = framesOf(lines);
  const inRange = (line: number): boolean => line >= 1 && line <= codeLineCount;
  if (frames.length > 0) {
    const sent = frames[0].id;
    const mine = frames.filter((f) => f.id === sent && inRange(f.line));
    const last = mine[mine.length - 1];
    return last ? { line: last.line - 1, message } : undefined;
  }
  // IPython 8.0-8.4 prints a SyntaxError's cell without a line; the evalue has it:
  // "invalid syntax (4098454681.py, line 2)".
  if (SYNTAX_ERRORS.has(error.ename)) {
    const m = /\(.*, line (\d+)\)$/.exec(error.evalue);
    if (m && inRange(Number(m[1]))) return { line: Number(m[1]) - 1, message };
  }
  return undefined;
}
