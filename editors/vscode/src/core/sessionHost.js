"use strict";
// The session host (`runbridge serve --host`): one per user, owning every session; every
// window, Neovim and the CLI connect to it. Where its socket is (as
// server/runbridge/host_socket.py computes it), the command lines that start it or the
// in-process daemon, and connecting to it, starting it detached when nobody serves the
// socket. Every connect, and the start, first checks the socket's folder and path
// (privateFolder.ts). No `vscode` import, so the integration tests drive it against the
// real host.
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
exports.HOST_MAX_SOCKET_PATH_BYTES = exports.HOST_SOCKET_NAME = void 0;
exports.hostSocketPath = hostSocketPath;
exports.hostCommand = hostCommand;
exports.standaloneCommand = standaloneCommand;
exports.hostEnvironment = hostEnvironment;
exports.connectChecked = connectChecked;
exports.hostRunning = hostRunning;
exports.waitHostGone = waitHostGone;
exports.connectOrStartHost = connectOrStartHost;
const node_child_process_1 = require("node:child_process");
const net = __importStar(require("node:net"));
const path = __importStar(require("node:path"));
const privateFolder_1 = require("./privateFolder");
exports.HOST_SOCKET_NAME = 'host.sock';
/** What host_socket.py allows: `sockaddr_un.sun_path` holds 108 bytes with the NUL on Linux. */
exports.HOST_MAX_SOCKET_PATH_BYTES = 107;
/**
 * The host's socket: `RUNBRIDGE_HOST_SOCKET` when set, else `<runtime>/host.sock` where
 * `<runtime>` is `$XDG_RUNTIME_DIR/runbridge` (a private XDG_RUNTIME_DIR of ours, the path
 * short enough) or `<tmpdir>/runbridge-<uid>`: the same path the daemon and the CLI use.
 */
function hostSocketPath(env, uid, tmpdir) {
    const chosen = env.RUNBRIDGE_HOST_SOCKET;
    if (chosen) {
        return path.resolve(chosen);
    }
    const folder = (0, privateFolder_1.runtimeFolder)(env, uid, tmpdir, exports.HOST_SOCKET_NAME.length, exports.HOST_MAX_SOCKET_PATH_BYTES);
    return path.join(folder, exports.HOST_SOCKET_NAME);
}
/** The daemon command turned into the host on `socketPath` (`... serve --host --socket PATH`). */
function hostCommand(command, socketPath) {
    return { ...command, args: [...command.args, '--host', '--socket', socketPath] };
}
/** The daemon command serving stdio in its own process (`... serve --standalone`): its
 * sessions end with it. */
function standaloneCommand(command) {
    return { ...command, args: [...command.args, '--standalone'] };
}
/** The environment of a host started from here: the in-process switch is dropped (it would
 * reach the host's terminals and the CLI run there). */
function hostEnvironment(env) {
    const copy = { ...env };
    delete copy.RUNBRIDGE_STANDALONE;
    return copy;
}
/** Connect to `socketPath` after checking its folder and path (UnsafePath: not connected). */
function connectChecked(socketPath) {
    try {
        (0, privateFolder_1.secureSocketPath)(socketPath, (0, privateFolder_1.ownUid)());
    }
    catch (error) {
        return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
        const socket = net.connect(socketPath);
        socket.once('connect', () => {
            socket.removeAllListeners('error');
            resolve(socket);
        });
        socket.once('error', reject);
    });
}
/** Whether a host answers on `socketPath` now (never starts one; UnsafePath is thrown). */
async function hostRunning(socketPath) {
    try {
        (await connectChecked(socketPath)).destroy();
        return true;
    }
    catch (error) {
        if (error instanceof privateFolder_1.UnsafePath) {
            throw error;
        }
        return false;
    }
}
/** Wait until nothing answers on `socketPath` (a stopped host has closed it); false on timeout. */
async function waitHostGone(socketPath, timeoutMs = 15_000) {
    const deadline = Date.now() + timeoutMs;
    while (await hostRunning(socketPath).catch(() => false)) {
        if (Date.now() > deadline) {
            return false;
        }
        await new Promise((r) => setTimeout(r, 100));
    }
    return true;
}
/**
 * A connection to the host on `socketPath`, starting it (detached, so it outlives this
 * window) when nobody serves the socket. Race-free: a host takes a lock on the socket, so
 * of hosts started at once all but one exit with code 0; their starters keep polling the
 * socket (and start again if the winner was a host that was just stopping).
 */
async function connectOrStartHost(start) {
    const { command, env, socketPath, log } = start;
    const timeoutMs = start.timeoutMs ?? 30_000;
    try {
        const socket = await connectChecked(socketPath);
        log(`connected to the session host on ${socketPath}`);
        return socket;
    }
    catch (error) {
        if (error instanceof privateFolder_1.UnsafePath) {
            throw error;
        }
        // nobody serves it yet: start it
    }
    const host = hostCommand(command, socketPath);
    const deadline = Date.now() + timeoutMs;
    let exit;
    let exitedAt = 0;
    const launch = () => {
        (0, privateFolder_1.secureSocketPath)(socketPath, (0, privateFolder_1.ownUid)());
        log(`starting the session host: ${host.command} ${host.args.join(' ')}`);
        exit = undefined;
        const child = (0, node_child_process_1.spawn)(host.command, host.args, {
            env: hostEnvironment(env),
            cwd: '/',
            detached: true,
            stdio: 'ignore',
        });
        child.once('exit', (code, signal) => {
            exit = { code, detail: signal ? `signal ${signal}` : `exit code ${code}` };
            exitedAt = Date.now();
        });
        child.once('error', (error) => {
            exit = { code: null, detail: error.message };
            exitedAt = Date.now();
        });
        child.unref();
    };
    launch();
    for (;;) {
        try {
            const socket = await connectChecked(socketPath);
            log(`connected to the session host on ${socketPath}`);
            return socket;
        }
        catch (error) {
            if (error instanceof privateFolder_1.UnsafePath) {
                throw error;
            }
            if (exit !== undefined && exit.code !== 0) {
                throw new Error(`the runbridge session host ended at start (${exit.detail}); see "Runbridge: Show Daemon Log"`);
            }
            if (Date.now() > deadline) {
                throw new Error(`no runbridge session host listened on ${socketPath} within ${timeoutMs / 1000} s: ${String(error)}`);
            }
            // Exit code 0: another host held the lock. It serves the socket soon, unless it was
            // one that was stopping: then nobody will, and this starter tries again.
            if (exit?.code === 0 && Date.now() - exitedAt > 2_000) {
                launch();
            }
            await new Promise((r) => setTimeout(r, 50));
        }
    }
}
