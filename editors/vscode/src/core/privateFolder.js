"use strict";
// The session host's socket folder, checked with lstat (never followed) before every
// connect and before the daemon is started.
//
// A folder another local user made (a world-writable TMPDIR), or a symbolic link at the
// folder or socket path, would let that user serve the socket in the daemon's place:
// the editor would send them its code and show their results. So the folder is created
// 0700 when missing, and otherwise used only when it is a real folder of this user that
// no one else can open; a file at the socket path must be a socket of this user. Nothing
// is ever chmod-ed, chown-ed or removed here. No `vscode` import (unit-tested).
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
Object.defineProperty(exports, "__esModule", { value: true });
exports.MAX_SOCKET_PATH_BYTES = exports.UnsafePath = void 0;
exports.ownUid = ownUid;
exports.isPrivateFolder = isPrivateFolder;
exports.privateFolder = privateFolder;
exports.checkSocketFile = checkSocketFile;
exports.secureSocketPath = secureSocketPath;
exports.runtimeFolder = runtimeFolder;
const fs = __importStar(require("node:fs"));
const path = __importStar(require("node:path"));
/** A folder or socket path the extension refuses; the message names it, says why and what to do. */
class UnsafePath extends Error {
    name = 'UnsafePath';
}
exports.UnsafePath = UnsafePath;
/** Unix socket paths are short: sun_path holds 104 bytes on macOS, 108 on Linux, with a NUL. */
exports.MAX_SOCKET_PATH_BYTES = 103;
const FOLDER_ADVICE = 'The session host\'s socket must be in a folder only you can open: remove it, ' +
    'set XDG_RUNTIME_DIR (or RUNBRIDGE_HOST_SOCKET) to a private place of yours, or turn off runbridge.daemon.keepSessions.';
/** The user that owns what this process creates (the daemon checks the same). */
function ownUid() {
    if (typeof process.geteuid !== 'function') {
        throw new UnsafePath('the session host needs Unix user ids, which this system does not have: ' +
            'turn off runbridge.daemon.keepSessions.');
    }
    return process.geteuid();
}
function describeMode(mode) {
    return (mode & 0o7777).toString(8).padStart(4, '0');
}
/** What makes `info` (an lstat) unfit as our private folder, or undefined. */
function folderProblem(info, uid) {
    if (info.isSymbolicLink()) {
        return 'it is a symbolic link';
    }
    if (!info.isDirectory()) {
        return 'it is not a folder';
    }
    if (info.uid !== uid) {
        return `it belongs to another user (uid ${info.uid})`;
    }
    if ((info.mode & 0o077) !== 0) {
        return `other users can open it (mode ${describeMode(info.mode)})`;
    }
    return undefined;
}
function lstatOrUndefined(file) {
    try {
        return fs.lstatSync(file);
    }
    catch (error) {
        if (error.code === 'ENOENT') {
            return undefined;
        }
        throw new UnsafePath(`cannot check ${file}: ${error.message}`);
    }
}
/** Whether `dir` is a real folder (not a link) of `uid` that no one else can open. */
function isPrivateFolder(dir, uid) {
    try {
        return folderProblem(fs.lstatSync(dir), uid) === undefined;
    }
    catch {
        return false;
    }
}
/**
 * `dir`, created 0700 when missing (only it: its parent must exist), else checked:
 * UnsafePath unless it is a real folder of `uid` with no group or other permission.
 */
function privateFolder(dir, uid) {
    try {
        fs.mkdirSync(dir, { mode: 0o700 });
    }
    catch (error) {
        const code = error.code;
        if (code === 'ENOENT') {
            throw new UnsafePath(`cannot create ${dir}: its parent folder ${path.dirname(dir)} does not exist ` +
                '(is TMPDIR right?).');
        }
        if (code !== 'EEXIST') {
            throw new UnsafePath(`cannot create ${dir}: ${error.message}`);
        }
    }
    const info = lstatOrUndefined(dir);
    const problem = info === undefined ? 'it disappeared while being checked' : folderProblem(info, uid);
    if (problem !== undefined) {
        throw new UnsafePath(`refusing ${dir}: ${problem}. ${FOLDER_ADVICE}`);
    }
}
/** UnsafePath when something other than a socket of `uid` is at `socketPath` (nothing is fine). */
function checkSocketFile(socketPath, uid) {
    const info = lstatOrUndefined(socketPath);
    if (info === undefined) {
        return;
    }
    let problem;
    if (info.isSymbolicLink()) {
        problem = 'it is a symbolic link';
    }
    else if (!info.isSocket()) {
        problem = 'it is not a socket';
    }
    else if (info.uid !== uid) {
        problem = `it is a socket of another user (uid ${info.uid})`;
    }
    if (problem !== undefined) {
        throw new UnsafePath(`refusing ${socketPath}: ${problem}, so another program could answer in the daemon's place. ` +
            'Remove it; the daemon makes a new socket.');
    }
}
/** Before connecting to `socketPath` or starting a daemon on it: its folder private, and
 * nothing but a socket of ours at the path. */
function secureSocketPath(socketPath, uid) {
    privateFolder(path.dirname(socketPath), uid);
    checkSocketFile(socketPath, uid);
}
/**
 * The folder for runbridge's sockets: `$XDG_RUNTIME_DIR/runbridge` when
 * XDG_RUNTIME_DIR is an absolute path to a private folder of `uid` (and a socket name of
 * `socketNameBytes` still fits in `maxPathBytes`), else `<tmpdir>/runbridge-<uid>`.
 */
function runtimeFolder(env, uid, tmpdir, socketNameBytes = 'host.sock'.length, maxPathBytes = exports.MAX_SOCKET_PATH_BYTES) {
    const xdg = env.XDG_RUNTIME_DIR;
    if (xdg && path.isAbsolute(xdg) && isPrivateFolder(xdg, uid)) {
        const folder = path.join(xdg, 'runbridge');
        if (Buffer.byteLength(folder) + 1 + socketNameBytes <= maxPathBytes) {
            return folder;
        }
    }
    return path.join(tmpdir, `runbridge-${uid}`);
}
