"use strict";
// The session picker's "on the server" rows against the real daemon and a real Jupyter
// Server: a notebook's kernel started as JupyterLab starts one (POST /api/sessions) is
// listed by runbridge/listRemote, laid out under "on the server" (remotePicks), attached
// with the offered name (openSession {attach}), keeps its variables across a close (which
// only lets go of it) and is destroyed by closeSession {destroy}.
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
const strict_1 = __importDefault(require("node:assert/strict"));
const node_child_process_1 = require("node:child_process");
const crypto = __importStar(require("node:crypto"));
const fs = __importStar(require("node:fs"));
const net = __importStar(require("node:net"));
const os = __importStar(require("node:os"));
const path = __importStar(require("node:path"));
const node_test_1 = require("node:test");
const remotePicks_1 = require("../../src/core/remotePicks");
const daemon_1 = require("./daemon");
const TIMEOUT = 60_000;
function freePort() {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
            const port = server.address().port;
            server.close(() => resolve(port));
        });
    });
}
/** A Jupyter Server of the repository's venv on 127.0.0.1 with a random token. */
class JupyterServer {
    proc;
    url;
    token;
    root;
    constructor(proc, url, token, root) {
        this.proc = proc;
        this.url = url;
        this.token = token;
        this.root = root;
    }
    static async start() {
        const base = fs.mkdtempSync(path.join(os.tmpdir(), 'rb-it-jupyter-'));
        const root = path.join(base, 'root');
        fs.mkdirSync(path.join(root, 'work'), { recursive: true });
        const port = await freePort();
        const token = crypto.randomBytes(24).toString('hex');
        const env = {
            ...process.env,
            HOME: base,
            JUPYTER_CONFIG_DIR: path.join(base, 'config'),
            JUPYTER_DATA_DIR: path.join(base, 'data'),
            JUPYTER_RUNTIME_DIR: path.join(base, 'runtime'),
            JUPYTER_PLATFORM_DIRS: '1',
        };
        const python = path.join((0, daemon_1.repoRoot)(), '.venv', 'bin', 'python');
        const proc = (0, node_child_process_1.spawn)(python, ['-m', 'jupyter_server', '--no-browser', '--ip=127.0.0.1', `--port=${port}`, '--port-retries=0',
            `--IdentityProvider.token=${token}`, `--ServerApp.root_dir=${root}`, '--allow-root'], { env, stdio: 'ignore', detached: true });
        const server = new JupyterServer(proc, `http://127.0.0.1:${port}`, token, root);
        for (let i = 0; i < 300; i++) {
            try {
                if ((await fetch(`${server.url}/api`, { headers: server.headers })).ok) {
                    return server;
                }
            }
            catch {
                // not listening yet
            }
            await (0, daemon_1.sleep)(100);
        }
        server.stop();
        throw new Error('the Jupyter Server did not answer GET /api within 30 s');
    }
    get headers() {
        return { Authorization: `token ${this.token}` };
    }
    async api(method, route, body) {
        const response = await fetch(`${this.url}${route}`, {
            method,
            headers: { ...this.headers, 'Content-Type': 'application/json' },
            body: body === undefined ? undefined : JSON.stringify(body),
        });
        strict_1.default.ok(response.ok, `${method} ${route}: HTTP ${response.status}`);
        const text = await response.text();
        return text ? JSON.parse(text) : undefined;
    }
    async kernelIds() {
        return (await this.api('GET', '/api/kernels')).map((k) => k.id);
    }
    stop() {
        try {
            process.kill(-this.proc.pid, 'SIGTERM');
        }
        catch {
            // gone already
        }
    }
}
(0, node_test_1.describe)('attach to a kernel on the server', { timeout: 180_000 }, () => {
    let server;
    let d;
    (0, node_test_1.before)(async () => {
        server = await JupyterServer.start();
        d = await daemon_1.Daemon.start({
            label: 'attach',
            initializationOptions: {
                profiles: { jup: { type: 'jupyter', url: server.url, token: server.token } },
            },
        });
    });
    (0, node_test_1.after)(async () => {
        if (d !== undefined) {
            await d.stop();
        }
        server?.stop();
    });
    (0, node_test_1.test)('the notebook kernel is listed under "on the server", attached, detached, reattached, destroyed', { timeout: TIMEOUT }, (0, daemon_1.withDaemon)(() => d, async (d) => {
        const notebook = await server.api('POST', '/api/sessions', {
            path: 'work/nb.ipynb', type: 'notebook', kernel: { name: 'python3' },
        });
        const kernelId = notebook.kernel.id;
        const rows = (0, remotePicks_1.remotePicks)([await d.api.listRemote('jup')]);
        strict_1.default.equal(rows[0].label, remotePicks_1.SERVER_SEPARATOR);
        strict_1.default.equal(rows[0].separator, true);
        const row = rows.find((r) => r.remote?.id === kernelId);
        strict_1.default.ok(row, `rows: ${JSON.stringify(rows)}`);
        strict_1.default.equal(row.label, 'work/nb.ipynb');
        strict_1.default.match(row.description ?? '', /^python3 · \w+ · \d+ connections?/);
        strict_1.default.equal(row.profile, 'jup');
        const name = row.remote?.suggestedName ?? "";
        strict_1.default.equal(name, 'nb');
        const info = await d.api.openSession({ name, profile: row.profile, attach: kernelId });
        strict_1.default.equal(info.attached, true);
        strict_1.default.equal(info.created, false);
        strict_1.default.equal(info.remoteId, kernelId);
        strict_1.default.equal(info.workdir, 'work');
        strict_1.default.equal((await d.api.run({ session: name, code: 'x = 41' })).status, 'finished');
        const listed = (0, remotePicks_1.remotePicks)([await d.api.listRemote('jup')]).find((r) => r.remote?.id === kernelId);
        strict_1.default.match(listed?.description ?? '', / · attached as nb$/);
        const closed = await d.api.closeSession(name);
        strict_1.default.equal(closed.state, 'closed');
        strict_1.default.ok((await server.kernelIds()).includes(kernelId), 'the kernel still runs on the server');
        await d.api.openSession({ name: 'nb-again', profile: 'jup', attach: kernelId });
        const result = await d.api.run({ session: 'nb-again', code: 'x + 1' });
        strict_1.default.deepEqual(d.events.consoleOf(result.runId), [['stdout', '42\n']]);
        await d.api.closeSession('nb-again', true);
        strict_1.default.ok(!(await server.kernelIds()).includes(kernelId), 'destroyed on the server');
    }));
});
