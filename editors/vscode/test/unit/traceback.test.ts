import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { locateError } from '../../src/core/traceback';

interface Fixture {
  code: string;
  ename: string;
  evalue: string;
  traceback: string[];
}

const lineCount = (code: string): number => code.replace(/\n$/, '').split('\n').length;

function locate(f: Fixture, count = lineCount(f.code)) {
  return locateError({ ename: f.ename, evalue: f.evalue, traceback: f.traceback }, count);
}

// ---------------------------------------------------------------------------------------
// Real tracebacks from ipykernel 7.4.0 / IPython 9.18.1 (Python 3.11), the `error` iopub
// content collected with jupyter_client.manager.start_new_kernel, ANSI colours removed
// (as the daemon does). One entry per frame, with embedded newlines.
// ---------------------------------------------------------------------------------------
const IPY: Record<string, Fixture> = {
  zerodiv: {
    code: 'x = 1\ny = 0\nprint(x)\nx / y\n',
    ename: 'ZeroDivisionError',
    evalue: 'division by zero',
    traceback: [
      '---------------------------------------------------------------------------',
      'ZeroDivisionError                         Traceback (most recent call last)',
      'Cell In[4], line 4\n      1 x = 1\n      2 y = 0\n      3 print(x)\n----> 4 x / y\n',
      'ZeroDivisionError: division by zero',
    ],
  },
  nested: {
    code: 'def f(a):\n    return g(a)\n\ndef g(a):\n    return 1 / a\n\nf(0)\n',
    ename: 'ZeroDivisionError',
    evalue: 'division by zero',
    traceback: [
      '---------------------------------------------------------------------------',
      'ZeroDivisionError                         Traceback (most recent call last)',
      'Cell In[5], line 7\n      3 \n      4 def g(a):\n      5     return 1 / a\n      6 \n----> 7 f(0)\n',
      'Cell In[5], line 2, in f(a)\n      1 def f(a):\n----> 2     return g(a)\n',
      'Cell In[5], line 5, in g(a)\n      4 def g(a):\n----> 5     return 1 / a\n',
      'ZeroDivisionError: division by zero',
    ],
  },
  library: {
    code: "import json\n\njson.loads('{')\n",
    ename: 'JSONDecodeError',
    evalue: 'Expecting property name enclosed in double quotes: line 1 column 2 (char 1)',
    traceback: [
      '---------------------------------------------------------------------------',
      'JSONDecodeError                           Traceback (most recent call last)',
      "Cell In[6], line 3\n      1 import json\n      2 \n----> 3 json.loads('{')\n",
      "File ~/.pyenv/versions/3.11.7/lib/python3.11/json/__init__.py:346, in loads(s, cls, object_hook, parse_float, parse_int, parse_constant, object_pairs_hook, **kw)\n    341     s = s.decode(detect_encoding(s), 'surrogatepass')\n    343 if (cls is None and object_hook is None and\n    344         parse_int is None and parse_float is None and\n    345         parse_constant is None and object_pairs_hook is None and not kw):\n--> 346     return _default_decoder.decode(s)\n    347 if cls is None:\n    348     cls = JSONDecoder\n",
      'File ~/.pyenv/versions/3.11.7/lib/python3.11/json/decoder.py:337, in JSONDecoder.decode(self, s, _w)\n    332 def decode(self, s, _w=WHITESPACE.match):\n    333     """Return the Python representation of ``s`` (a ``str`` instance\n    334     containing a JSON document).\n    335 \n    336     """\n--> 337     obj, end = self.raw_decode(s, idx=_w(s, 0).end())\n    338     end = _w(s, end).end()\n    339     if end != len(s):\n',
      'File ~/.pyenv/versions/3.11.7/lib/python3.11/json/decoder.py:353, in JSONDecoder.raw_decode(self, s, idx)\n    344 """Decode a JSON document from ``s`` (a ``str`` beginning with\n    345 a JSON document) and return a 2-tuple of the Python\n    346 representation and the index in ``s`` where the document ended.\n   (...)    350 \n    351 """\n    352 try:\n--> 353     obj, end = self.scan_once(s, idx)\n    354 except StopIteration as err:\n    355     raise JSONDecodeError("Expecting value", s, err.value) from None\n',
      'JSONDecodeError: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)',
    ],
  },
  syntax: {
    code: 'x = 1\ny = (\nz = 2\n',
    ename: 'SyntaxError',
    evalue: "'(' was never closed (1600935527.py, line 2)",
    traceback: ["  Cell In[7], line 2\n    y = (\n        ^\nSyntaxError: '(' was never closed\n"],
  },
  syntax2: {
    code: 'a = 1\nb = 2 +\n',
    ename: 'SyntaxError',
    evalue: 'invalid syntax (4098454681.py, line 2)',
    traceback: ['  Cell In[8], line 2\n    b = 2 +\n           ^\nSyntaxError: invalid syntax\n'],
  },
  indent: {
    code: 'if True:\nprint(1)\n',
    ename: 'IndentationError',
    evalue: "expected an indented block after 'if' statement on line 1 (3223784690.py, line 2)",
    traceback: [
      "  Cell In[9], line 2\n    print(1)\n    ^\nIndentationError: expected an indented block after 'if' statement on line 1\n",
    ],
  },
  name: {
    code: 'import os\nprint(undefined_name)\n',
    ename: 'NameError',
    evalue: "name 'undefined_name' is not defined",
    traceback: [
      '---------------------------------------------------------------------------',
      'NameError                                 Traceback (most recent call last)',
      'Cell In[10], line 2\n      1 import os\n----> 2 print(undefined_name)\n',
      "NameError: name 'undefined_name' is not defined",
    ],
  },
  // h() was defined by an earlier execution (In[1]: "def h(v):\n    return int(v)\n").
  crosscell: {
    code: 'print(1)\nh("x")\n',
    ename: 'ValueError',
    evalue: "invalid literal for int() with base 10: 'x'",
    traceback: [
      '---------------------------------------------------------------------------',
      'ValueError                                Traceback (most recent call last)',
      'Cell In[2], line 2\n      1 print(1)\n----> 2 h("x")\n',
      'Cell In[1], line 2, in h(v)\n      1 def h(v):\n----> 2     return int(v)\n',
      "ValueError: invalid literal for int() with base 10: 'x'",
    ],
  },
  chained: {
    code: 'try:\n    {}["k"]\nexcept KeyError:\n    raise ValueError("missing")\n',
    ename: 'ValueError',
    evalue: 'missing',
    traceback: [
      '---------------------------------------------------------------------------',
      'KeyError                                  Traceback (most recent call last)',
      'Cell In[3], line 4\n      2     {}["k"]\n      3 except KeyError:\n----> 4     raise ValueError("missing")\n',
      "KeyError: 'k'",
      '\nDuring handling of the above exception, another exception occurred:\n',
      'ValueError                                Traceback (most recent call last)',
      'Cell In[3], line 4\n      1 try:\n      2     {}["k"]\n      3 except KeyError:\n----> 4     raise ValueError("missing")\n',
      'ValueError: missing',
    ],
  },
  // In[1] was "try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    saved = e\n".
  causeFromEarlierCell: {
    code: "print('again')\n\nraise ValueError('bad input') from saved\n",
    ename: 'ValueError',
    evalue: 'bad input',
    traceback: [
      '---------------------------------------------------------------------------',
      'ZeroDivisionError                         Traceback (most recent call last)',
      'Cell In[1], line 4\n      2     1 / 0\n      3 except ZeroDivisionError as e:\n----> 4     saved = e\n',
      'ZeroDivisionError: division by zero',
      '\nThe above exception was the direct cause of the following exception:\n',
      'ValueError                                Traceback (most recent call last)',
      "Cell In[2], line 3\n      1 print('again')\n      2 \n----> 3 raise ValueError('bad input') from saved\n",
      'ValueError: bad input',
    ],
  },
};

// ---------------------------------------------------------------------------------------
// Real tracebacks from CPython 3.11 running exec(compile(code, NAME, 'exec')) from a runner
// script, as Backend.AI's Python kernel prints them on stderr; the daemon keeps the
// non-blank lines (server/runbridge/backends/backendai/console.py).
// ---------------------------------------------------------------------------------------
const PLAIN: Record<string, Fixture> = {
  inputNested: {
    code: "def f(a):\n    return 10 / a\n\nprint('start')\nf(0)\n",
    ename: 'ZeroDivisionError',
    evalue: 'division by zero',
    traceback: [
      'Traceback (most recent call last):',
      '  File "/tmp/tbgen/runner.py", line 4, in <module>',
      "    exec(compile(code, name, 'exec'), {'__name__': '__main__'})",
      '  File "<input>", line 5, in <module>',
      '  File "<input>", line 2, in f',
      'ZeroDivisionError: division by zero',
    ],
  },
  stringZerodiv: {
    code: 'x = 1\n1/0\n',
    ename: 'ZeroDivisionError',
    evalue: 'division by zero',
    traceback: [
      'Traceback (most recent call last):',
      '  File "/tmp/tbgen/runner.py", line 4, in <module>',
      "    exec(compile(code, name, 'exec'), {'__name__': '__main__'})",
      '  File "<string>", line 2, in <module>',
      'ZeroDivisionError: division by zero',
    ],
  },
  stdinSyntax: {
    code: 'x = 1\nif x:\n  y = (\n',
    ename: 'SyntaxError',
    evalue: "'(' was never closed",
    traceback: [
      'Traceback (most recent call last):',
      '  File "/tmp/tbgen/runner.py", line 4, in <module>',
      "    exec(compile(code, name, 'exec'), {'__name__': '__main__'})",
      '         ^^^^^^^^^^^^^^^^^^^^^^^^^^^',
      '  File "<stdin>", line 3',
      '    y = (',
      '        ^',
      "SyntaxError: '(' was never closed",
    ],
  },
  inputSyntax: {
    code: 'a = 1\nb = 2 +\n',
    ename: 'SyntaxError',
    evalue: 'invalid syntax',
    traceback: [
      'Traceback (most recent call last):',
      '  File "/tmp/tbgen/runner.py", line 4, in <module>',
      "    exec(compile(code, name, 'exec'), {'__name__': '__main__'})",
      '         ^^^^^^^^^^^^^^^^^^^^^^^^^^^',
      '  File "<input>", line 2',
      '    b = 2 +',
      '           ^',
      'SyntaxError: invalid syntax',
    ],
  },
  inputLibrary: {
    code: "import json\njson.loads('{')\n",
    ename: 'JSONDecodeError',
    evalue: 'Expecting property name enclosed in double quotes: line 1 column 2 (char 1)',
    traceback: [
      'Traceback (most recent call last):',
      '  File "/tmp/tbgen/runner.py", line 4, in <module>',
      "    exec(compile(code, name, 'exec'), {'__name__': '__main__'})",
      '  File "<input>", line 2, in <module>',
      '  File "/root/.pyenv/versions/3.11.7/lib/python3.11/json/__init__.py", line 346, in loads',
      '    return _default_decoder.decode(s)',
      '           ^^^^^^^^^^^^^^^^^^^^^^^^^^',
      '  File "/root/.pyenv/versions/3.11.7/lib/python3.11/json/decoder.py", line 337, in decode',
      '    obj, end = self.raw_decode(s, idx=_w(s, 0).end())',
      '               ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^',
      '  File "/root/.pyenv/versions/3.11.7/lib/python3.11/json/decoder.py", line 353, in raw_decode',
      '    obj, end = self.scan_once(s, idx)',
      '               ^^^^^^^^^^^^^^^^^^^^^^',
      'json.decoder.JSONDecodeError: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)',
    ],
  },
  // The first exception is at line 2, the one raised while handling it at line 4.
  inputChained: {
    code: 'try:\n    {}["k"]\nexcept KeyError:\n    raise ValueError("missing")\n',
    ename: 'ValueError',
    evalue: 'missing',
    traceback: [
      'Traceback (most recent call last):',
      '  File "<input>", line 2, in <module>',
      "KeyError: 'k'",
      'During handling of the above exception, another exception occurred:',
      'Traceback (most recent call last):',
      '  File "/tmp/tbgen/runner.py", line 4, in <module>',
      "    exec(compile(code, name, 'exec'), {'__name__': '__main__'})",
      '  File "<input>", line 4, in <module>',
      'ValueError: missing',
    ],
  },
};

// ---------------------------------------------------------------------------------------
// Older IPython formats (written after IPython 7.x / 8.0-8.4 output; not generated here).
// ---------------------------------------------------------------------------------------
const OLD: Record<string, Fixture> = {
  // IPython 7: "<ipython-input-N-hash> in <module>" then an arrow line with the line number.
  ipython7CrossCell: {
    code: 'x = 1\nf(x)\n',
    ename: 'ZeroDivisionError',
    evalue: 'division by zero',
    traceback: [
      '---------------------------------------------------------------------------',
      'ZeroDivisionError                         Traceback (most recent call last)',
      '<ipython-input-2-3c4e5b2f2d3e> in <module>\n      1 x = 1\n----> 2 f(x)\n',
      '<ipython-input-1-8d1b0c3c1f4e> in f(a)\n      1 def f(a):\n----> 2     return a / 0\n',
      'ZeroDivisionError: division by zero',
    ],
  },
  ipython7Library: {
    code: "import json\n\n\njson.loads('{')\n",
    ename: 'JSONDecodeError',
    evalue: 'Expecting property name enclosed in double quotes: line 1 column 2 (char 1)',
    traceback: [
      '---------------------------------------------------------------------------',
      'JSONDecodeError                           Traceback (most recent call last)',
      "<ipython-input-3-0a1b2c3d4e5f> in <module>\n      2 \n      3 \n----> 4 json.loads('{')\n",
      '/usr/lib/python3.8/json/__init__.py in loads(s, cls, object_hook, parse_float, parse_int, parse_constant, object_pairs_hook, **kw)\n    355             parse_constant is None and object_pairs_hook is None and not kw):\n--> 357         return _default_decoder.decode(s)\n    358     if cls is None:\n',
      '/usr/lib/python3.8/json/decoder.py in decode(self, s, _w)\n--> 337         obj, end = self.raw_decode(s, idx=_w(s, 0).end())\n',
      'JSONDecodeError: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)',
    ],
  },
  ipython7Syntax: {
    code: 'a = 1\nb = 2 +\n',
    ename: 'SyntaxError',
    evalue: 'invalid syntax (<ipython-input-4-0c4ddb2b5a77>, line 2)',
    traceback: ['  File "<ipython-input-4-0c4ddb2b5a77>", line 2\n    b = 2 +\n           ^\nSyntaxError: invalid syntax\n'],
  },
  // IPython 8.0-8.4: "Input In [N], in <cell line: L>()" (L is where the enclosing block starts).
  ipython80: {
    code: 'for i in range(3):\n    print(i)\n    1 / (i - 1)\n',
    ename: 'ZeroDivisionError',
    evalue: 'division by zero',
    traceback: [
      '---------------------------------------------------------------------------',
      'ZeroDivisionError                         Traceback (most recent call last)',
      'Input In [5], in <cell line: 1>()\n      1 for i in range(3):\n      2     print(i)\n----> 3     1 / (i - 1)\n',
      'ZeroDivisionError: division by zero',
    ],
  },
  // IPython 8.0-8.4 printed no line for a SyntaxError; the evalue has it.
  ipython80Syntax: {
    code: 'a = 1\n\nb = 2 +\n',
    ename: 'SyntaxError',
    evalue: 'invalid syntax (2431125587.py, line 3)',
    traceback: ['  Input In [6]\n    b = 2 +\n           ^\nSyntaxError: invalid syntax\n'],
  },
};

describe('locateError: ipykernel (IPython >= 8.5 "Cell In[N], line L")', () => {
  it('points at the raising line', () => {
    assert.deepEqual(locate(IPY.zerodiv), { line: 3, message: 'ZeroDivisionError: division by zero' });
    assert.deepEqual(locate(IPY.name), { line: 1, message: "NameError: name 'undefined_name' is not defined" });
  });

  it('uses the innermost frame of the sent code', () => {
    assert.equal(locate(IPY.nested)?.line, 4); // "return 1 / a", not "f(0)" (6) or "return g(a)" (1)
  });

  it('stops at the last user frame when the error is raised in a library', () => {
    assert.deepEqual(locate(IPY.library), {
      line: 2,
      message: 'JSONDecodeError: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)',
    });
  });

  it('ignores frames of functions defined by earlier cells', () => {
    // Cell In[1], line 2 is in another cell; line 2 of the sent code is h("x").
    assert.equal(locate(IPY.crosscell)?.line, 1);
    // Even when the earlier cell's line would be out of range for the sent code,
    // only In[2]'s frame counts.
    assert.equal(locate({ ...IPY.crosscell, code: 'h("x")\n' }, 1), undefined);
  });

  it('locates syntax and indentation errors from the caret frame', () => {
    assert.deepEqual(locate(IPY.syntax), { line: 1, message: "SyntaxError: '(' was never closed (1600935527.py, line 2)" });
    assert.equal(locate(IPY.syntax2)?.line, 1);
    assert.equal(locate(IPY.indent)?.line, 1);
  });

  it('reads the last exception of a chain', () => {
    assert.deepEqual(locate(IPY.chained), { line: 3, message: 'ValueError: missing' });
    // The cause was raised by an earlier cell (In[1], line 4): the sent code is In[2].
    assert.deepEqual(locate(IPY.causeFromEarlierCell), { line: 2, message: 'ValueError: bad input' });
  });
});

describe('locateError: Backend.AI / plain Python (File "<input>", line L)', () => {
  it('uses the innermost <input> frame', () => {
    assert.deepEqual(locate(PLAIN.inputNested), { line: 1, message: 'ZeroDivisionError: division by zero' });
  });

  it('accepts <string> and <stdin>', () => {
    assert.equal(locate(PLAIN.stringZerodiv)?.line, 1);
    assert.deepEqual(locate(PLAIN.stdinSyntax), { line: 2, message: "SyntaxError: '(' was never closed" });
  });

  it('ignores the runner and library frames', () => {
    assert.equal(locate(PLAIN.inputSyntax)?.line, 1);
    assert.equal(locate(PLAIN.inputLibrary)?.line, 1);
  });

  it('reads the last exception of a chain', () => {
    assert.equal(locate(PLAIN.inputChained)?.line, 3); // not line 2, where the KeyError was
  });
});

describe('locateError: older IPython formats', () => {
  it('IPython 7: takes the arrow line after the sent cell\'s header', () => {
    assert.equal(locate(OLD.ipython7CrossCell)?.line, 1);
    assert.equal(locate(OLD.ipython7Library)?.line, 3); // not the library's "--> 357"
    assert.equal(locate(OLD.ipython7Syntax)?.line, 1);
  });

  it('IPython 8.0-8.4: takes the arrow line, not the "<cell line: N>"', () => {
    assert.equal(locate(OLD.ipython80)?.line, 2);
    assert.equal(locate(OLD.ipython80Syntax)?.line, 2);
  });
});

describe('locateError: what it refuses', () => {
  it('returns undefined when the line is outside the sent code', () => {
    assert.equal(locate(IPY.zerodiv, 3), undefined); // line 4 of a 3-line code
    assert.equal(locate(PLAIN.inputNested, 0), undefined);
  });

  it('falls back to an earlier frame of the sent code when the innermost is out of range', () => {
    // e.g. a dataclass __init__ generated with the file name "<string>": its line 3 is not ours.
    const tb = ['Traceback (most recent call last):', '  File "<string>", line 2, in <module>', '  File "<string>", line 3, in __init__', 'TypeError: bad'];
    assert.equal(locateError({ ename: 'TypeError', evalue: 'bad', traceback: tb }, 2)?.line, 1);
  });

  it('returns undefined for tracebacks without a frame of the sent code', () => {
    const fromFile = {
      ename: 'RuntimeError',
      evalue: 'x',
      traceback: ['Traceback (most recent call last):', '  File "/srv/main.py", line 3, in <module>', 'RuntimeError: x'],
    };
    assert.equal(locateError(fromFile, 10), undefined);
    assert.equal(locateError({ ename: 'Error', evalue: '', traceback: [] }, 10), undefined);
    // The "(file, line N)" of an evalue is read for syntax errors only.
    assert.equal(
      locateError({ ename: 'KeyboardInterrupt', evalue: '', traceback: ['KeyboardInterrupt: (x, line 2)'] }, 10),
      undefined,
    );
  });

  it('does not take a "Cell In" mentioned inside a message or code line', () => {
    const tb = [
      'Traceback (most recent call last):',
      '  File "<input>", line 1, in <module>',
      'ValueError: see Cell In[9], line 7',
    ];
    assert.equal(locateError({ ename: 'ValueError', evalue: 'see Cell In[9], line 7', traceback: tb }, 9)?.line, 0);
  });
});
