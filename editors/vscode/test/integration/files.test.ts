// upload / listFiles / download between this machine and a session's work folder.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';

import * as P from '../../src/protocol';
import { Daemon, rpcFailure, withDaemon } from './daemon';

const TIMEOUT = 45_000;

describe('files', { timeout: 120_000 }, () => {
  let d: Daemon | undefined;

  before(async () => {
    d = await Daemon.start({ label: 'files' });
  });

  after(async () => {
    if (d !== undefined) {
      assert.equal(await d.stop(), 0, 'daemon exit code after shutdown + exit');
    }
  });

  test('upload, listFiles, use in the kernel, download', { timeout: TIMEOUT }, withDaemon(() => d!, async (d) => {
    const S = 'it-files';
    const local = path.join(d.tmp, 'local');
    fs.mkdirSync(local);
    const content = 'alpha,beta\n1,2\nünïcode ✓\n';
    const src = path.join(local, 'data.csv');
    fs.writeFileSync(src, content);
    const size = Buffer.byteLength(content);

    // Upload opens the session when needed.
    const up = await d.api.upload(S, [src]);
    assert.deepEqual(up, [{ path: 'data.csv', size }]);
    const upSub = await d.api.upload(S, [src], 'inputs/raw');
    assert.deepEqual(upSub, [{ path: 'inputs/raw/data.csv', size }]);

    const listing = await d.api.listFiles(S);
    assert.equal(listing.path, '.');
    const names = listing.entries.map((e) => e.name);
    assert.deepEqual(names, ['inputs', 'data.csv'], 'folders first, then files by name');
    const file = listing.entries[1];
    assert.equal(file.type, 'file');
    assert.equal(file.path, 'data.csv');
    assert.equal(file.size, size);
    assert.equal(typeof file.mtime, 'number');
    assert.ok(Math.abs(file.mtime! * 1000 - Date.now()) < 60_000, 'mtime in seconds since the epoch');
    assert.equal(listing.entries[0].type, 'dir');
    const sub = await d.api.listFiles(S, 'inputs/raw');
    assert.deepEqual(sub.entries.map((e) => e.path), ['inputs/raw/data.csv']);

    // The kernel runs in the work folder and sees the file; it writes a result.
    const r = await d.api.run({
      session: S,
      code:
        "import os\nrows = open('data.csv', encoding='utf-8').read().splitlines()\n" +
        "os.makedirs('out', exist_ok=True)\n" +
        "open('out/result.txt', 'w', encoding='utf-8').write(rows[2].upper() + '\\n')\n" +
        'print(len(rows))\n',
    });
    assert.equal(r.status, 'finished', JSON.stringify(r));
    assert.equal(d.events.textOf(r.runId), '3\n');

    const dest = path.join(d.tmp, 'downloads');
    fs.mkdirSync(dest);
    const down = await d.api.download(S, ['out/result.txt', 'data.csv'], dest);
    assert.equal(down.length, 2);
    for (const entry of down) {
      assert.ok(path.isAbsolute(entry.path), entry.path);
      assert.ok(entry.path.startsWith(dest + path.sep), entry.path);
      assert.equal(fs.statSync(entry.path).size, entry.size);
    }
    const result = down.find((e) => path.basename(e.path) === 'result.txt');
    assert.ok(result, JSON.stringify(down));
    assert.equal(fs.readFileSync(result.path, 'utf8'), 'ÜNÏCODE ✓\n');
    const back = down.find((e) => path.basename(e.path) === 'data.csv');
    assert.ok(back);
    assert.equal(fs.readFileSync(back.path, 'utf8'), content, 'round trip keeps the bytes');
  }));

  test('refused transfers copy nothing and name the problem', { timeout: TIMEOUT }, withDaemon(() => d!, async (d) => {
    const S = 'it-files';
    const good = path.join(d.tmp, 'good.txt');
    fs.writeFileSync(good, 'ok\n');
    const missing = path.join(d.tmp, 'missing.txt');

    const e1 = await rpcFailure(d.api.upload(S, [good, missing]));
    assert.equal(e1.code, P.ErrorCodes.FileError);
    assert.equal(e1.data?.kind, 'FileError');
    assert.ok(!(await d.api.listFiles(S)).entries.some((e) => e.name === 'good.txt'), 'nothing copied');

    const e2 = await rpcFailure(d.api.upload(S, [good], '../escape'));
    assert.equal(e2.code, P.ErrorCodes.FileError);
    const e3 = await rpcFailure(d.api.upload(S, [good], '/tmp'));
    assert.equal(e3.code, P.ErrorCodes.FileError);
    assert.ok(!fs.existsSync(path.join(d.env.RUNBRIDGE_DATA_DIR!, 'sessions', 'escape')));

    const e4 = await rpcFailure(d.api.listFiles(S, '../..'));
    assert.equal(e4.code, P.ErrorCodes.FileError);
    const e5 = await rpcFailure(d.api.download(S, ['nope.txt'], d.tmp));
    assert.equal(e5.code, P.ErrorCodes.FileError);
    const e6 = await rpcFailure(d.api.listFiles('it-files-none'));
    assert.equal(e6.code, P.ErrorCodes.SessionNotFound);
  }));
});
