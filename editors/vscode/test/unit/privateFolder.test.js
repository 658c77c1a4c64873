"use strict";
// The session host's socket folder: created 0700, or used only when it is a real folder
// of this user closed to others; never changed when it is not ours. Real temp folders.
var __createBinding = (this && this.__createBinding) || (Object.create ? (function(o, m, k, k2) {
    if (k2 === undefined) k2 = k;
    var desc = Object.getOwnPropertyDescriptor(m, k);
    if (!desc || ("get" in desc ? !m.__esModule : desc.writable || desc.configurable)) {
      desc = { enumerable: true, get: function() { return m[k]; } };
    }
    Object.defineProperty(o, k2, desc);
}) : (function(o, m, k, k2) {
    if (k2 === undefined) k2 = k;
    o[k2] = m[k];
}));
var __setModuleDefault = (this && this.__setModuleDefault) || (Object.create ? (function(o, v) {
    Object.defineProperty(o, "default", { enumerable: true, value: v });
}) : function(o, v) {
    o["default"] = v;
});
var __importStar = (this && this.__importStar) || (function () {
    var ownKeys = function(o) {
        ownKeys = Object.getOwnPropertyNames || function (o) {
            var ar = [];
            for (var k in o) if (Object.prototype.hasOwnProperty.call(o, k)) ar[ar.length] = k;
            return ar;
        };
        return ownKeys(o);
    };
    return function (mod) {
        if (mod && mod.__esModule) return mod;
        var result = {};
        if (mod != null) for (var k = ownKeys(mod), i = 0; i < k.length; i++) if (k[i] !== "default") __createBinding(result, mod, k[i]);
        __setModuleDefault(result, mod);
        return result;
    };
})();
var __importDefault = (this && this.__importDefault) || function (mod) {
    return (mod && mod.__esModule) ? mod : { "default": mod };
};
Object.defineProperty(exports, "__esModule", { value: true });
const node_test_1 = require("node:test");
const strict_1 = __importDefault(require("node:assert/strict"));
const fs = __importStar(require("node:fs"));
const net = __importStar(require("node:net"));
const os = __importStar(require("node:os"));
const path = __importStar(require("node:path"));
const privateFolder_1 = require("../../src/core/privateFolder");
const sessionHost_1 = require("../../src/core/sessionHost");
const uid = (0, privateFolder_1.ownUid)();
const ROOT_ONLY = process.getuid?.() === 0
    ? false
    : 'needs root to give a file to another user (chown to 65534); CI runs these tests as root';
const OTHER_UID = 65534;
let root = '';
let count = 0;
/** A fresh path (nothing there yet) in this file's private temp folder. */
function fresh(name) {
    count += 1;
    return path.join(root, `${count}-${name}`);
}
/** A real folder with exactly this mode (chmod, so the umask does not change it). */
function folder(name, mode) {
    const dir = fresh(name);
    fs.mkdirSync(dir);
    fs.chmodSync(dir, mode);
    return dir;
}
const modeOf = (p) => fs.lstatSync(p).mode & 0o7777;
/** Assert `fn` throws UnsafePath whose message names `where`, matches `what` and says what to do. */
function refused(fn, where, what, advice = /remove it/i) {
    strict_1.default.throws(fn, (error) => {
        strict_1.default.ok(error instanceof privateFolder_1.UnsafePath, `an UnsafePath, got ${String(error)}`);
        strict_1.default.ok(error.message.includes(where), `the message names ${where}: ${error.message}`);
        strict_1.default.match(error.message, what);
        strict_1.default.match(error.message, advice, `the message says what to do: ${error.message}`);
        return true;
    });
}
/** A Unix socket listening at `socketPath` (closed by the returned function). */
async function listen(socketPath) {
    const server = net.createServer((c) => c.destroy());
    await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(socketPath, () => resolve());
    });
    return () => new Promise((resolve) => server.close(() => resolve()));
}
(0, node_test_1.before)(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-pf-'));
});
(0, node_test_1.after)(() => {
    fs.rmSync(root, { recursive: true, force: true });
});
(0, node_test_1.describe)('privateFolder', () => {
    (0, node_test_1.it)('creates a missing folder 0700', () => {
        const dir = fresh('new');
        (0, privateFolder_1.privateFolder)(dir, uid);
        const info = fs.lstatSync(dir);
        strict_1.default.ok(info.isDirectory());
        strict_1.default.equal(info.mode & 0o777, 0o700);
        strict_1.default.equal(info.uid, uid);
    });
    (0, node_test_1.it)('creates only the last folder: a missing parent is an error, not created', () => {
        const parent = fresh('no-parent');
        const dir = path.join(parent, 'runbridge');
        refused(() => (0, privateFolder_1.privateFolder)(dir, uid), dir, /does not exist/, /TMPDIR/);
        strict_1.default.equal(fs.existsSync(parent), false, 'the missing parent was created');
    });
    (0, node_test_1.it)('accepts an existing 0700 folder of ours, unchanged', () => {
        const dir = folder('ours', 0o700);
        const before = fs.lstatSync(dir);
        (0, privateFolder_1.privateFolder)(dir, uid);
        const after = fs.lstatSync(dir);
        strict_1.default.equal(after.mode, before.mode);
        strict_1.default.equal(after.ino, before.ino);
    });
    for (const mode of [0o755, 0o777, 0o1777, 0o710]) {
        const octal = mode.toString(8).padStart(4, '0');
        (0, node_test_1.it)(`refuses a folder of mode ${octal} and leaves its mode as it was`, () => {
            const dir = folder(`mode-${octal}`, mode);
            refused(() => (0, privateFolder_1.privateFolder)(dir, uid), dir, new RegExp(`other users can open it \\(mode ${octal}\\)`));
            strict_1.default.equal(modeOf(dir), mode);
        });
    }
    (0, node_test_1.it)('refuses a symbolic link to a good folder, and leaves both alone', () => {
        const target = folder('target', 0o700);
        const link = fresh('link');
        fs.symlinkSync(target, link);
        refused(() => (0, privateFolder_1.privateFolder)(link, uid), link, /symbolic link/);
        strict_1.default.ok(fs.lstatSync(link).isSymbolicLink());
        strict_1.default.equal(modeOf(target), 0o700);
    });
    (0, node_test_1.it)('refuses a regular file at the folder path', () => {
        const file = fresh('file');
        fs.writeFileSync(file, 'x', { mode: 0o600 });
        refused(() => (0, privateFolder_1.privateFolder)(file, uid), file, /not a folder/);
        strict_1.default.ok(fs.lstatSync(file).isFile());
    });
    (0, node_test_1.it)('refuses a 0700 folder owned by another user, and leaves it theirs', { skip: ROOT_ONLY }, () => {
        const dir = folder('theirs', 0o700);
        fs.chownSync(dir, OTHER_UID, OTHER_UID);
        refused(() => (0, privateFolder_1.privateFolder)(dir, uid), dir, new RegExp(`belongs to another user \\(uid ${OTHER_UID}\\)`));
        const info = fs.lstatSync(dir);
        strict_1.default.equal(info.uid, OTHER_UID);
        strict_1.default.equal(info.mode & 0o7777, 0o700);
    });
});
(0, node_test_1.describe)('checkSocketFile and secureSocketPath', () => {
    (0, node_test_1.it)('accepts no file at the socket path, and a socket of ours', async () => {
        const dir = folder('sock-ok', 0o700);
        const socketPath = path.join(dir, 's.sock');
        (0, privateFolder_1.checkSocketFile)(socketPath, uid);
        const close = await listen(socketPath);
        try {
            (0, privateFolder_1.checkSocketFile)(socketPath, uid);
            (0, privateFolder_1.secureSocketPath)(socketPath, uid);
        }
        finally {
            await close();
        }
    });
    (0, node_test_1.it)('creates the missing socket folder 0700', () => {
        const dir = fresh('sock-new');
        (0, privateFolder_1.secureSocketPath)(path.join(dir, 's.sock'), uid);
        strict_1.default.equal(modeOf(dir), 0o700);
    });
    (0, node_test_1.it)('refuses a regular file at the socket path', () => {
        const dir = folder('sock-file', 0o700);
        const socketPath = path.join(dir, 's.sock');
        fs.writeFileSync(socketPath, '');
        refused(() => (0, privateFolder_1.secureSocketPath)(socketPath, uid), socketPath, /not a socket/);
        strict_1.default.ok(fs.lstatSync(socketPath).isFile());
    });
    (0, node_test_1.it)('refuses a symbolic link at the socket path, even to a live socket of ours', async () => {
        const dir = folder('sock-link', 0o700);
        const elsewhere = folder('sock-elsewhere', 0o700);
        const real = path.join(elsewhere, 'real.sock');
        const close = await listen(real);
        try {
            const socketPath = path.join(dir, 's.sock');
            fs.symlinkSync(real, socketPath);
            refused(() => (0, privateFolder_1.secureSocketPath)(socketPath, uid), socketPath, /symbolic link/);
        }
        finally {
            await close();
        }
    });
    (0, node_test_1.it)('refuses a socket of another user at the socket path', { skip: ROOT_ONLY }, async () => {
        const dir = folder('sock-theirs', 0o700);
        const socketPath = path.join(dir, 's.sock');
        const close = await listen(socketPath);
        try {
            fs.lchownSync(socketPath, OTHER_UID, OTHER_UID);
            refused(() => (0, privateFolder_1.secureSocketPath)(socketPath, uid), socketPath, new RegExp(`another user \\(uid ${OTHER_UID}\\)`));
        }
        finally {
            await close();
        }
    });
    (0, node_test_1.it)('refuses a socket path in a folder other users can open, without touching the folder', () => {
        const dir = folder('sock-open', 0o777);
        refused(() => (0, privateFolder_1.secureSocketPath)(path.join(dir, 's.sock'), uid), dir, /mode 0777/);
        strict_1.default.equal(modeOf(dir), 0o777);
    });
});
(0, node_test_1.describe)('runtimeFolder: $XDG_RUNTIME_DIR first', () => {
    const tmp = '/tmp-of-test';
    (0, node_test_1.it)('uses $XDG_RUNTIME_DIR/runbridge when it is a private folder of ours', () => {
        const xdg = folder('xdg', 0o700);
        strict_1.default.equal((0, privateFolder_1.runtimeFolder)({ XDG_RUNTIME_DIR: xdg }, uid, tmp), path.join(xdg, 'runbridge'));
        strict_1.default.equal((0, privateFolder_1.isPrivateFolder)(xdg, uid), true);
    });
    (0, node_test_1.it)('the host socket is $XDG_RUNTIME_DIR/runbridge/host.sock', () => {
        const xdg = folder('xdg-socket', 0o700);
        strict_1.default.equal((0, sessionHost_1.hostSocketPath)({ XDG_RUNTIME_DIR: xdg }, uid, tmp), path.join(xdg, 'runbridge', 'host.sock'));
    });
    (0, node_test_1.it)('RUNBRIDGE_HOST_SOCKET names the host socket (made absolute)', () => {
        const xdg = folder('xdg-socket-env', 0o700);
        const env = { XDG_RUNTIME_DIR: xdg, RUNBRIDGE_HOST_SOCKET: '/elsewhere/h.sock' };
        strict_1.default.equal((0, sessionHost_1.hostSocketPath)(env, uid, tmp), '/elsewhere/h.sock');
        strict_1.default.equal((0, sessionHost_1.hostSocketPath)({ RUNBRIDGE_HOST_SOCKET: 'rel/h.sock' }, uid, tmp), path.resolve('rel/h.sock'));
    });
    (0, node_test_1.it)('the host socket falls back to <tmp>/runbridge-<uid>/host.sock', () => {
        strict_1.default.equal((0, sessionHost_1.hostSocketPath)({}, uid, tmp), path.join(tmp, `runbridge-${uid}`, 'host.sock'));
    });
    (0, node_test_1.it)('the host socket path may take the 107 bytes the daemon allows (as host_socket.py)', () => {
        // a folder whose <folder>/runbridge/host.sock is exactly 107 bytes: XDG kept; 108: not
        for (const [extra, kept] of [[0, true], [1, false]]) {
            const fixed = path.join(root, 'y').length + '/runbridge/host.sock'.length;
            const name = 'y'.repeat(sessionHost_1.HOST_MAX_SOCKET_PATH_BYTES - fixed + 1 + extra);
            const xdg = path.join(root, name);
            fs.mkdirSync(xdg, { mode: 0o700 });
            const want = kept ? path.join(xdg, 'runbridge', 'host.sock') : path.join(tmp, `runbridge-${uid}`, 'host.sock');
            const got = (0, sessionHost_1.hostSocketPath)({ XDG_RUNTIME_DIR: xdg }, uid, tmp);
            strict_1.default.equal(Buffer.byteLength(path.join(xdg, 'runbridge', 'host.sock')), sessionHost_1.HOST_MAX_SOCKET_PATH_BYTES + extra);
            strict_1.default.equal(got, want);
        }
    });
    const bad = [
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
        (0, node_test_1.it)(`falls back to the temp folder when $XDG_RUNTIME_DIR is ${what}`, () => {
            const xdg = make();
            const env = xdg === undefined ? {} : { XDG_RUNTIME_DIR: xdg };
            strict_1.default.equal((0, privateFolder_1.runtimeFolder)(env, uid, tmp), path.join(tmp, `runbridge-${uid}`));
        });
    }
    (0, node_test_1.it)('falls back when $XDG_RUNTIME_DIR belongs to another user', { skip: ROOT_ONLY }, () => {
        const xdg = folder('xdg-theirs', 0o700);
        fs.chownSync(xdg, OTHER_UID, OTHER_UID);
        strict_1.default.equal((0, privateFolder_1.runtimeFolder)({ XDG_RUNTIME_DIR: xdg }, uid, tmp), path.join(tmp, `runbridge-${uid}`));
    });
});
