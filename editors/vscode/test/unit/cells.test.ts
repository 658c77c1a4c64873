import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  Cell,
  cellAt,
  cellsAbove,
  cellText,
  compileMarker,
  DEFAULT_MARKER,
  findCells,
  markerFor,
  nextCellStart,
} from '../../src/core/cells';

// The defaults of the runbridge.cellMarkers setting (package.json).
const MARKERS: Record<string, string> = {
  python: '^\\s*#\\s*(%%|In\\[\\d*\\]|<codecell>)',
  javascript: '^\\s*//\\s*%%',
  '*': '^\\s*(#|//|--|%)\\s*%%',
};

const DOC = [
  'import os', //        0  leading region
  '', //                 1
  '# %% load', //        2  header
  'x = 1', //            3
  'y = 2', //            4
  '', //                 5
  '', //                 6
  '  #%%', //            7  header (indented, no space)
  'print(x)', //         8
  '# %% [markdown]', //  9  header
  '# some text', //      10
];

describe('compileMarker', () => {
  it('compiles a valid pattern without stateful flags', () => {
    const re = compileMarker('^\\s*#\\s*%%');
    assert.equal(re.flags, '');
    assert.equal(re.test('# %%'), true);
    assert.equal(re.test('# %%'), true); // still true the second time: no lastIndex state
    assert.equal(re.test('x = 1  # %%'), false);
  });

  it('names the pattern when it is invalid', () => {
    assert.throws(() => compileMarker('^#(%%'), (e: unknown) => {
      assert.ok(e instanceof Error);
      assert.match(e.message, /Invalid cell marker pattern "\^#\(%%"/);
      return true;
    });
  });

  it('refuses a pattern that matches an empty line', () => {
    assert.throws(() => compileMarker(''), /matches an empty line/);
    assert.throws(() => compileMarker('^\\s*(#\\s*%%)?'), /"\^\\s\*\(#\\s\*%%\)\?"/);
  });
});

describe('markerFor', () => {
  it('prefers the language, then *, then the built-in default', () => {
    assert.equal(markerFor('python', MARKERS), MARKERS.python);
    assert.equal(markerFor('javascript', MARKERS), MARKERS.javascript);
    assert.equal(markerFor('lua', MARKERS), MARKERS['*']);
    assert.equal(markerFor('lua', {}), '^\\s*#\\s*%%');
    assert.equal(DEFAULT_MARKER, '^\\s*#\\s*%%');
  });

  it('treats empty or non-string entries as unset', () => {
    const odd = { python: '', '*': 42 } as unknown as Record<string, string>;
    assert.equal(markerFor('python', odd), DEFAULT_MARKER);
  });

  it('does not pick up Object.prototype members', () => {
    assert.equal(markerFor('toString', {}), DEFAULT_MARKER);
    assert.equal(markerFor('constructor', { '*': '^--' }), '^--');
  });

  it('the python default also accepts In[] and <codecell> markers', () => {
    const re = compileMarker(markerFor('python', MARKERS));
    assert.deepEqual(
      ['# In[3]:', '# In[ ]', '# <codecell>', '#%%', '# %% title', 'x = 1'].map((l) => re.test(l)),
      [true, false, true, true, true, false],
    );
  });
});

describe('findCells', () => {
  const re = compileMarker('^\\s*#\\s*%%');

  it('finds the leading region and one cell per marker', () => {
    assert.deepEqual(findCells(DOC, re), [
      { header: null, start: 0, end: 2 },
      { header: 2, start: 3, end: 7 },
      { header: 7, start: 8, end: 9 },
      { header: 9, start: 10, end: 11 },
    ]);
  });

  it('returns [] when no line is a marker', () => {
    assert.deepEqual(findCells(['x = 1', 'print(x)  # %% not at line start'], re), []);
    assert.deepEqual(findCells([], re), []);
  });

  it('skips a leading region that is blank', () => {
    assert.deepEqual(findCells(['', '   ', '# %%', 'a'], re), [{ header: 2, start: 3, end: 4 }]);
  });

  it('gives an empty cell for a marker on the last line and for adjacent markers', () => {
    assert.deepEqual(findCells(['# %%', '# %%'], re), [
      { header: 0, start: 1, end: 1 },
      { header: 1, start: 2, end: 2 },
    ]);
  });

  it('uses the language marker, not another language\'s', () => {
    const js = compileMarker(markerFor('javascript', MARKERS));
    assert.deepEqual(findCells(['// %%', 'a()', '# %%', 'b()'], js), [{ header: 0, start: 1, end: 4 }]);
  });
});

describe('cellAt / cellText / nextCellStart / cellsAbove', () => {
  const re = compileMarker('^\\s*#\\s*%%');
  const cells = findCells(DOC, re);
  const [lead, first, second, third] = cells;

  it('cellAt includes the marker line and excludes the end', () => {
    assert.equal(cellAt(cells, 0), lead);
    assert.equal(cellAt(cells, 1), lead);
    assert.equal(cellAt(cells, 2), first); // the marker line belongs to its cell
    assert.equal(cellAt(cells, 6), first);
    assert.equal(cellAt(cells, 7), second);
    assert.equal(cellAt(cells, 10), third);
    assert.equal(cellAt(cells, 11), undefined);
    assert.equal(cellAt([], 0), undefined);
  });

  it('cellAt is undefined in a blank region before the first marker', () => {
    const c = findCells(['', '# %%', 'a'], re);
    assert.equal(cellAt(c, 0), undefined);
    assert.deepEqual(cellAt(c, 1), { header: 1, start: 2, end: 3 });
  });

  it('cellText joins the code lines and trims trailing blank lines only', () => {
    assert.equal(cellText(DOC, first), 'x = 1\ny = 2');
    assert.equal(cellText(DOC, lead), 'import os');
    assert.equal(cellText(DOC, third), '# some text');
    const lines = ['# %%', '', '  a = 1', '   ', '\t', '# %%'];
    assert.equal(cellText(lines, findCells(lines, re)[0]), '\n  a = 1');
    assert.equal(cellText(['# %%'], { header: 0, start: 1, end: 1 }), '');
  });

  it('cellText keeps line N of the text at document line start + N', () => {
    const lines = ['# %%', '', 'boom()', ''];
    const cell = findCells(lines, re)[0];
    const text = cellText(lines, cell);
    assert.equal(lines[cell.start + text.split('\n').indexOf('boom()')], 'boom()');
  });

  it('nextCellStart gives the first code line of the following cell', () => {
    assert.equal(nextCellStart(cells, 0), 3);
    assert.equal(nextCellStart(cells, 2), 8); // from the first cell's marker line
    assert.equal(nextCellStart(cells, 5), 8);
    assert.equal(nextCellStart(cells, 8), 10);
    assert.equal(nextCellStart(cells, 10), undefined); // last cell
  });

  it('nextCellStart from a line in no cell goes to the first cell below', () => {
    const c = findCells(['', '', '# %%', 'a'], re);
    assert.equal(nextCellStart(c, 0), 3);
    assert.equal(nextCellStart(c, 3), undefined);
  });

  it('cellsAbove lists the cells before the current one, in order', () => {
    assert.deepEqual(cellsAbove(cells, 0), []);
    assert.deepEqual(cellsAbove(cells, 3), [lead]);
    assert.deepEqual(cellsAbove(cells, 7), [lead, first]); // on a marker line
    assert.deepEqual(cellsAbove(cells, 10), [lead, first, second]);
    const noLead: Cell[] = findCells(['', '# %%', 'a', '# %%', 'b'], re);
    assert.deepEqual(cellsAbove(noLead, 0), []);
    assert.deepEqual(cellsAbove(noLead, 4), [noLead[0]]);
  });
});
