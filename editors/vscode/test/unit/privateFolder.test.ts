// The session host's socket folder: created 0700, or used only when it is a real folder
// of this user closed to others; never changed when it is not ours. Real temp folders.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  UnsafePath,
  checkSocketFile,
  isPrivateFolder,
  ownUid,
  privateFolder,
  runtimeFolder,
  secureSocketPath,
} from '../../src/core/privateFolder';
import { HOST_MAX_SOCKET_PATH_BYTES, hostSocketPath } from '../../src/core/sessionHost';

const uid = ownUid();
const ROOT_ONLY =
  process.getuid?.() === 0
    ? false
    : 'needs root to give a file to another user (chown to 65534); CI runs these tests as root';
const OTHER_UID = 65534;

let root = '';
let count = 0;
/** A fresh path (nothing there yet) in this file's private temp folder. */
function fresh(name: string): string {
  count += 1;
  return path.join(root, `${count}-${name}`);
}

/** A real folder with exactly this mode (chmod, so the umask does not change it). */
function folder(name: string, mode: number): string {
  const dir = fresh(name);
  fs.mkdirSync(dir);
  fs.chmodSync(dir, mode);
  return dir;
}

const modeOf = (p: string): number => fs.lstatSync(p).mode & 0o7777;

/** Assert `fn` throws UnsafePath whose message names `where`, matches `what` and says what to do. */
function refused(fn: () => unknown, where: string, what: RegExp, advice = /remove it/i): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof UnsafePath, `an UnsafePath, got ${String(error)}`);
    assert.ok(error.message.includes(where), `the message names ${where}: ${error.message}`);
    assert.match(error.message, what);
    assert.match(error.message, advice, `the message says what to do: ${error.message}`);
    return true;
  });
}

/** A Unix socket listening at `socketPath` (closed by the returned function). */
async function listen(socketPath: string): Promise<() => Promise<void>> {
  const server = net.createServer((c) => c.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}

before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-pf-'));
});

after(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe('privateFolder', () => {
  it('creates a missing folder 0700', () => {
    const dir = fresh('new');
    privateFolder(dir, uid);
    const info = fs.lstatSync(dir);
    assert.ok(info.isDirectory());
    assert.equal(info.mode & 0o777, 0o700);
    assert.equal(info.uid, uid);
  });

  it('creates only the last folder: a missing parent is an error, not created', () => {
    const parent = fresh('no-parent');
    const dir = path.join(parent, 'runbridge');
    refused(() => privateFolder(dir, uid), dir, /does not exist/, /TMPDIR/);
    assert.equal(fs.existsSync(parent), false, 'the missing parent was created');
  });

  it('accepts an existing 0700 folder of ours, unchanged', () => {
    const dir = folder('ours', 0o700);
    const before = fs.lstatSync(dir);
    privateFolder(dir, uid);
    const after = fs.lstatSync(dir);
    assert.equal(after.mode, before.mode);
    assert.equal(after.ino, before.ino);
  });

  for (const mode of [0o755, 0o777, 0o1777, 0o710]) {
    const octal = mode.toString(8).padStart(4, '0');
    it(`refuses a folder of mode ${octal} and leaves its mode as it was`, () => {
      const dir = folder(`mode-${octal}`, mode);
      refused(() => privateFolder(dir, uid), dir, new RegExp(`other users can open it \\(mode ${octal}\\)`));
      assert.equal(modeOf(dir), mode);
    });
  }

  it('refuses a symbolic link to a good folder, and leaves both alone', () => {
    const target = folder('target', 0o700);
    const link = fresh('link');
    fs.symlinkSync(target, link);
    refused(() => privateFolder(link, uid), link, /symbolic link/);
    assert.ok(fs.lstatSync(link).isSymbolicLink());
    assert.equal(modeOf(target), 0o700);
  });

  it('refuses a regular file at the folder path', () => {
    const file = fresh('file');
    fs.writeFileSync(file, 'x', { mode: 0o600 });
    refused(() => privateFolder(file, uid), file, /not a folder/);
    assert.ok(fs.lstatSync(file).isFile());
  });

  it('refuses a 0700 folder owned by another user, and leaves it theirs', { skip: ROOT_ONLY }, () => {
    const dir = folder('theirs', 0o700);
    fs.chownSync(dir, OTHER_UID, OTHER_UID);
    refused(() => privateFolder(dir, uid), dir, new RegExp(`belongs to another user \\(uid ${OTHER_UID}\\)`));
    const info = fs.lstatSync(dir);
    assert.equal(info.uid, OTHER_UID);
    assert.equal(info.mode & 0o7777, 0o700);
  });
});

describe('checkSocketFile and secureSocketPath', () => {
  it('accepts no file at the socket path, and a socket of ours', async () => {
    const dir = folder('sock-ok', 0o700);
    const socketPath = path.join(dir, 's.sock');
    checkSocketFile(socketPath, uid);
    const close = await listen(socketPath);
    try {
      checkSocketFile(socketPath, uid);
      secureSocketPath(socketPath, uid);
    } finally {
      await close();
    }
  });

  it('creates the missing socket folder 0700', () => {
    const dir = fresh('sock-new');
    secureSocketPath(path.join(dir, 's.sock'), uid);
    assert.equal(modeOf(dir), 0o700);
  });

  it('refuses a regular file at the socket path', () => {
    const dir = folder('sock-file', 0o700);
    const socketPath = path.join(dir, 's.sock');
    fs.writeFileSync(socketPath, '');
    refused(() => secureSocketPath(socketPath, uid), socketPath, /not a socket/);
    assert.ok(fs.lstatSync(socketPath).isFile());
  });

  it('refuses a symbolic link at the socket path, even to a live socket of ours', async () => {
    const dir = folder('sock-link', 0o700);
    const elsewhere = folder('sock-elsewhere', 0o700);
    const real = path.join(elsewhere, 'real.sock');
    const close = await listen(real);
    try {
      const socketPath = path.join(dir, 's.sock');
      fs.symlinkSync(real, socketPath);
      refused(() => secureSocketPath(socketPath, uid), socketPath, /symbolic link/);
    } finally {
      await close();
    }
  });

  it('refuses a socket of another user at the socket path', { skip: ROOT_ONLY }, async () => {
    const dir = folder('sock-theirs', 0o700);
    const socketPath = path.join(dir, 's.sock');
    const close = await listen(socketPath);
    try {
      fs.lchownSync(socketPath, OTHER_UID, OTHER_UID);
      refused(() => secureSocketPath(socketPath, uid), socketPath, new RegExp(`another user \\(uid ${OTHER_UID}\\)`));
    } finally {
      await close();
    }
  });

  it('refuses a socket path in a folder other users can open, without touching the folder', () => {
    const dir = folder('sock-open', 0o777);
    refused(() => secureSocketPath(path.join(dir, 's.sock'), uid), dir, /mode 0777/);
    assert.equal(modeOf(dir), 0o777);
  });
});

describe('runtimeFolder: $XDG_RUNTIME_DIR first', () => {
  const tmp = '/tmp-of-test';

  it('uses $XDG_RUNTIME_DIR/runbridge when it is a private folder of ours', () => {
    const xdg = folder('xdg', 0o700);
    assert.equal(runtimeFolder({ XDG_RUNTIME_DIR: xdg }, uid, tmp), path.join(xdg, 'runbridge'));
    assert.equal(isPrivateFolder(xdg, uid), true);
  });

  it('the host socket is $XDG_RUNTIME_DIR/runbridge/host.sock', () => {
    const xdg = folder('xdg-socket', 0o700);
    assert.equal(hostSocketPath({ XDG_RUNTIME_DIR: xdg }, uid, tmp), path.join(xdg, 'runbridge', 'host.sock'));
  });

  it('RUNBRIDGE_HOST_SOCKET names the host socket (made absolute)', () => {
    const xdg = folder('xdg-socket-env', 0o700);
    const env = { XDG_RUNTIME_DIR: xdg, RUNBRIDGE_HOST_SOCKET: '/elsewhere/h.sock' };
    assert.equal(hostSocketPath(env, uid, tmp), '/elsewhere/h.sock');
    assert.equal(hostSocketPath({ RUNBRIDGE_HOST_SOCKET: 'rel/h.sock' }, uid, tmp), path.resolve('rel/h.sock'));
  });

  it('the host socket falls back to <tmp>/runbridge-<uid>/host.sock', () => {
    assert.equal(hostSocketPath({}, uid, tmp), path.join(tmp, `runbridge-${uid}`, 'host.sock'));
  });

  it('the host socket path may take the 107 bytes the daemon allows (as host_socket.py)', () => {
    // a folder whose <folder>/runbridge/host.sock is exactly 107 bytes: XDG kept; 108: not
    for (const [extra, kept] of [[0, true], [1, false]] as const) {
      const fixed = path.join(root, 'y').length + '/runbridge/host.sock'.length;
      const name = 'y'.repeat(HOST_MAX_SOCKET_PATH_BYTES - fixed + 1 + extra);
      const xdg = path.join(root, name);
      fs.mkdirSync(xdg, { mode: 0o700 });
      const want = kept ? path.join(xdg, 'runbridge', 'host.sock') : path.join(tmp, `runbridge-${uid}`, 'host.sock');
      const got = hostSocketPath({ XDG_RUNTIME_DIR: xdg }, uid, tmp);
      assert.equal(Buffer.byteLength(path.join(xdg, 'runbridge', 'host.sock')), HOST_MAX_SOCKET_PATH_BYTES + extra);
      assert.equal(got, want);
    }
  });

  const bad: Array<[string, () => string | undefined]> = [
    ['unset', () => undefined],
    ['empty', () => ''],
    ['a relative path', () => 'run/user/1000'],
    ['missing', () => fresh('xdg-missing')],
    ['mode 0755', () => folder('xdg-0755', 0o755)],
    ['mode 0777', () => folder('xdg-0777', 0o777)],
    ['a regular file', () => {
      const file = fresh('xdg-file');
      fs.writeFileSync(file, '');
      return file;
    }],
    ['a symbolic link to a private folder', () => {
      const link = fresh('xdg-link');
      fs.symlinkSync(folder('xdg-target', 0o700), link);
      return link;
    }],
    ['too long for a socket path', () => {
      // ~95 bytes of folder: with /runbridge/host.sock it passes 103 bytes.
      const long = path.join(root, 'x'.repeat(Math.max(1, 95 - root.length)));
      fs.mkdirSync(long, { mode: 0o700 });
      return long;
    }],
  ];
  for (const [what, make] of bad) {
    it(`falls back to the temp folder when $XDG_RUNTIME_DIR is ${what}`, () => {
      const xdg = make();
      const env = xdg === undefined ? {} : { XDG_RUNTIME_DIR: xdg };
      assert.equal(runtimeFolder(env, uid, tmp), path.join(tmp, `runbridge-${uid}`));
    });
  }

  it('falls back when $XDG_RUNTIME_DIR belongs to another user', { skip: ROOT_ONLY }, () => {
    const xdg = folder('xdg-theirs', 0o700);
    fs.chownSync(xdg, OTHER_UID, OTHER_UID);
    assert.equal(runtimeFolder({ XDG_RUNTIME_DIR: xdg }, uid, tmp), path.join(tmp, `runbridge-${uid}`));
  });
});
