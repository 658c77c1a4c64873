import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  dataUriBytes,
  formatDuration,
  humanSize,
  isMediaKind,
  renderRecord,
  runFooter,
  runHeader,
  toTerminal,
} from '../../src/core/terminalText';

// A 1x1 transparent PNG (68 bytes decoded).
const PNG_B64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';
const PNG = `data:image/png;base64,${PNG_B64}`;

describe('toTerminal', () => {
  it('turns bare \\n into \\r\\n', () => {
    assert.equal(toTerminal('a\nb\n'), 'a\r\nb\r\n');
    assert.equal(toTerminal('\n\n'), '\r\n\r\n');
  });

  it('keeps \\r\\n as is and lone \\r (progress bars)', () => {
    assert.equal(toTerminal('a\r\nb'), 'a\r\nb');
    assert.equal(toTerminal(' 10%\r 50%\r100%\n'), ' 10%\r 50%\r100%\r\n');
    assert.equal(toTerminal('\r\r\n'), '\r\r\n');
  });

  it('leaves ANSI escapes untouched', () => {
    const s = '\x1b[31mred\x1b[0m\n\x1b[2K\x1b[1Gdone';
    assert.equal(toTerminal(s), '\x1b[31mred\x1b[0m\r\n\x1b[2K\x1b[1Gdone');
  });
});

describe('renderRecord', () => {
  it('prints stdout as terminal text', () => {
    assert.deepEqual(renderRecord('stdout', 'hi\n'), { text: 'hi\r\n' });
  });

  it('colours plain stderr red and leaves coloured stderr alone', () => {
    assert.deepEqual(renderRecord('stderr', 'warn\n'), { text: '\x1b[31mwarn\r\n\x1b[39m' });
    const ipython = '\x1b[31mZeroDivisionError\x1b[39m: division by zero\n';
    assert.deepEqual(renderRecord('stderr', ipython), { text: '\x1b[31mZeroDivisionError\x1b[39m: division by zero\r\n' });
    assert.deepEqual(renderRecord('stderr', ''), { text: '' });
  });

  it('sends images, SVG and HTML to the media panel with a dim note', () => {
    const png = renderRecord('image/png', PNG);
    assert.deepEqual(png.media, { kind: 'image/png', data: PNG });
    assert.equal(png.text, '\x1b[2m[image/png 68 B → media panel]\x1b[22m\r\n');

    const svg = '<svg xmlns="http://www.w3.org/2000/svg"/>';
    assert.deepEqual(renderRecord('image/svg+xml', svg).media, { kind: 'image/svg+xml', data: svg });
    assert.match(renderRecord('image/svg+xml', svg).text, /\[image\/svg\+xml 41 B → media panel\]/);

    const html = renderRecord('text/html', '<b>x</b>'.repeat(2000));
    assert.equal(html.media?.kind, 'text/html');
    assert.match(html.text, /\[text\/html 15\.6 KB → media panel\]/);

    assert.equal(renderRecord('image/gif', 'data:image/gif;base64,R0lG').media?.kind, 'image/gif');
  });

  it('prints Markdown and LaTeX as text, ending the line', () => {
    assert.deepEqual(renderRecord('text/markdown', '# Title\n*x*'), { text: '# Title\r\n*x*\r\n' });
    assert.deepEqual(renderRecord('text/latex', '$x^2$\n'), { text: '$x^2$\r\n' });
  });

  it('pretty-prints JSON, and shows invalid JSON as it came', () => {
    assert.deepEqual(renderRecord('application/json', '{"a": [1, 2]}'), {
      text: '{\r\n  "a": [\r\n    1,\r\n    2\r\n  ]\r\n}\r\n',
    });
    assert.deepEqual(renderRecord('application/json', '{oops'), { text: '{oops\r\n' });
  });

  it('turns the clear-output record into clear, with its wait flag', () => {
    assert.deepEqual(renderRecord('application/x-runbridge-clear-output', '{"wait": false}'), {
      text: '',
      clear: true,
      wait: false,
    });
    assert.deepEqual(renderRecord('application/x-runbridge-clear-output', '{"wait": true}'), {
      text: '',
      clear: true,
      wait: true,
    });
    assert.equal(renderRecord('application/x-runbridge-clear-output', 'garbage').clear, true);
  });

  it('notes unknown kinds with their size, without control characters', () => {
    assert.deepEqual(renderRecord('application/pdf', 'abcd'), { text: '\x1b[2m[application/pdf 4 bytes]\x1b[22m\r\n' });
    const evil = renderRecord('x/\x1b]0;pwned\x07', 'é');
    assert.equal(evil.text, '\x1b[2m[x/ ]0;pwned  2 bytes]\x1b[22m\r\n');
    assert.equal(evil.media, undefined);
  });

  it('isMediaKind covers exactly the panel kinds', () => {
    assert.deepEqual(
      ['image/png', 'image/svg+xml', 'text/html', 'text/markdown', 'application/json', 'stdout'].map(
        isMediaKind,
      ),
      [true, true, true, false, false, false],
    );
  });
});

describe('runHeader', () => {
  it('shows the label and the first line of code, dim, ending the line', () => {
    assert.equal(runHeader('python', 'print(1)'), '\x1b[2m── In [python] print(1) ──\x1b[22m\r\n');
  });

  it('skips leading blank lines and marks more lines with …', () => {
    assert.equal(runHeader('py', '\n\n  x = 1\ny = 2\n'), '\x1b[2m── In [py] x = 1 … ──\x1b[22m\r\n');
  });

  it('truncates to the width', () => {
    const header = runHeader('python', 'a'.repeat(200), 40);
    const visible = header.replace(/\x1b\[\d+m/g, '').replace(/\r\n$/, '');
    assert.equal(Array.from(visible).length, 40);
    assert.ok(visible.endsWith('a… ──'));
    assert.ok(Array.from(runHeader('python', 'x'.repeat(200)).replace(/\x1b\[\d+m/g, '').trimEnd()).length <= 80);
  });

  it('removes control characters from the code', () => {
    assert.equal(runHeader('sh', 'echo \x1b[2J\tx'), '\x1b[2m── In [sh] echo  [2J x ──\x1b[22m\r\n');
  });
});

describe('runFooter', () => {
  it('finished cleanly: green tick with the time', () => {
    assert.equal(runFooter('finished', 0, 12), '\x1b[32m✓ finished in 12 ms\x1b[39m\r\n');
  });

  it('finished with an exception: red, with the exit code', () => {
    assert.equal(runFooter('finished', 1, 2500), '\x1b[31m✗ error (exit code 1) after 2.5 s\x1b[39m\r\n');
  });

  it('failed: red with the message', () => {
    assert.equal(runFooter('failed', null, 10, 'the kernel died'), '\x1b[31m✗ failed: the kernel died\x1b[39m\r\n');
    assert.equal(runFooter('failed', null, 10), '\x1b[31m✗ failed after 10 ms\x1b[39m\r\n');
  });

  it('interrupted and timed out: yellow', () => {
    assert.equal(runFooter('interrupted', 130, 61_000), '\x1b[33m■ interrupted after 1 min 1 s\x1b[39m\r\n');
    assert.equal(runFooter('exec-timeout', 124, 30_000, 'timed out after 30 s'), '\x1b[33m⏱ timed out after 30.0 s: timed out after 30 s\x1b[39m\r\n');
  });
});

describe('sizes and durations', () => {
  it('humanSize', () => {
    assert.equal(humanSize(0), '0 B');
    assert.equal(humanSize(512), '512 B');
    assert.equal(humanSize(1023), '1023 B');
    assert.equal(humanSize(1024), '1.0 KB');
    assert.equal(humanSize(12_595), '12.3 KB');
    assert.equal(humanSize(4 * 1024 * 1024), '4.0 MB');
    assert.equal(humanSize(3 * 1024 ** 3), '3.0 GB');
  });

  it('dataUriBytes decodes the base64 size, and counts UTF-8 bytes of text', () => {
    assert.equal(dataUriBytes(PNG), Buffer.from(PNG_B64, 'base64').length);
    assert.equal(dataUriBytes(PNG), 68);
    assert.equal(dataUriBytes('data:image/png;base64,QQ=='), 1);
    assert.equal(dataUriBytes('data:image/png;base64,QUI='), 2);
    assert.equal(dataUriBytes('data:image/png;base64,QUJD'), 3);
    assert.equal(dataUriBytes('data:image/png;base64,QUJD\nREVG'), 6);
    assert.equal(dataUriBytes('hello'), 5);
    assert.equal(dataUriBytes('héllo'), 6);
  });

  it('formatDuration', () => {
    assert.equal(formatDuration(0), '0 ms');
    assert.equal(formatDuration(999), '999 ms');
    assert.equal(formatDuration(1000), '1.0 s');
    assert.equal(formatDuration(59_940), '59.9 s');
    assert.equal(formatDuration(125_000), '2 min 5 s');
  });
});
