"use strict";
// initialize / sessions / errors / shutdown against the real daemon.
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
const fs = __importStar(require("node:fs"));
const path = __importStar(require("node:path"));
const node_test_1 = require("node:test");
const P = __importStar(require("../../src/protocol"));
const api_1 = require("../../src/api");
const daemon_1 = require("./daemon");
const TIMEOUT = 45_000;
(0, node_test_1.describe)('daemon lifecycle and sessions', { timeout: 120_000 }, () => {
    let d;
    let stopped = false;
    (0, node_test_1.before)(async () => {
        d = await daemon_1.Daemon.start({
            label: 'lifecycle',
            // A bad option must not fail initialize: it is warned about and the default used.
            initializationOptions: { outputCapMb: 'lots' },
        });
    });
    (0, node_test_1.after)(async () => {
        if (d !== undefined && !stopped) {
            const code = await d.stop();
            strict_1.default.equal(code, 0, 'daemon exit code after shutdown + exit');
        }
    });
    (0, node_test_1.test)('initialize announces protocol v1 and the local backend', { timeout: TIMEOUT }, (0, daemon_1.withDaemon)(() => d, async (d) => {
        const info = d.serverInfo;
        strict_1.default.equal(info.protocolVersion, P.PROTOCOL_VERSION);
        strict_1.default.ok(info.backends.includes('local'), `backends: ${JSON.stringify(info.backends)}`);
        strict_1.default.equal(typeof info.version, 'string');
        strict_1.default.equal(info.defaultProfile, 'local');
        strict_1.default.equal(info.defaultSession, 'default');
        const local = info.profiles.find((p) => p.name === 'local');
        strict_1.default.ok(local, `profiles: ${JSON.stringify(info.profiles)}`);
        strict_1.default.equal(local.type, 'local');
        strict_1.default.equal(local.available, true);
        const warning = await d.waitFor(() => d.events.logMessages.find((m) => m.message.includes('outputCapMb')), 'a window/logMessage naming outputCapMb');
        strict_1.default.equal(warning.type, 2, `a warning, got ${JSON.stringify(warning)}`);
    }));
    (0, node_test_1.test)('openSession creates, then reuses; listSessions; closeSession', { timeout: TIMEOUT }, (0, daemon_1.withDaemon)(() => d, async (d) => {
        const name = 'it-life-a';
        const first = await d.api.openSession({ name });
        strict_1.default.equal(first.name, name);
        strict_1.default.equal(first.created, true);
        strict_1.default.equal(first.state, 'idle');
        strict_1.default.equal(first.backend, 'local');
        strict_1.default.equal(first.profile, 'local');
        strict_1.default.equal(first.image, 'python3');
        strict_1.default.equal(first.workdir, path.join(d.env.RUNBRIDGE_DATA_DIR, 'sessions', name));
        strict_1.default.ok(fs.statSync(first.workdir).isDirectory(), 'workdir exists');
        strict_1.default.deepEqual(d.events.statesOf(name).slice(0, 2), ['starting', 'idle']);
        // workDoneProgress: true -> a server-created progress bar while the kernel starts.
        const begin = d.events.progress.find((p) => p.value.kind === 'begin' && (p.value.title ?? '').includes(name));
        strict_1.default.ok(begin, `a $/progress begin for ${name}: ${JSON.stringify(d.events.progress)}`);
        strict_1.default.ok(d.events.progressCreated.includes(begin.token), 'token created by the server');
        await d.waitFor(() => d.events.progress.some((p) => p.token === begin.token && p.value.kind === 'end'), 'the progress end');
        const again = await d.api.openSession({ name });
        strict_1.default.equal(again.created, false);
        strict_1.default.equal(again.createdAt, first.createdAt);
        strict_1.default.equal(again.workdir, first.workdir);
        const conflict = await (0, daemon_1.rpcFailure)(d.api.openSession({ name, image: 'no-such-kernel' }));
        strict_1.default.equal(conflict.code, P.ErrorCodes.SessionConflict);
        strict_1.default.equal(conflict.data?.kind, 'SessionConflict');
        strict_1.default.equal((await d.api.listSessions()).find((s) => s.name === name)?.state, 'idle');
        const unknownImage = await (0, daemon_1.rpcFailure)(d.api.openSession({ name: 'it-life-bad-image', image: 'no-such-kernel' }));
        strict_1.default.equal(unknownImage.code, P.ErrorCodes.KernelSpecNotFound);
        const listed = await d.api.listSessions();
        const mine = listed.find((s) => s.name === name);
        strict_1.default.ok(mine, `listed: ${JSON.stringify(listed)}`);
        strict_1.default.equal(mine.created, false);
        strict_1.default.ok(!listed.some((s) => s.name === 'it-life-bad-image'), 'a session that failed to start is not listed');
        const closed = await d.api.closeSession(name);
        strict_1.default.equal(closed.name, name);
        strict_1.default.equal(closed.state, 'closed');
        await d.waitFor(() => d.events.statesOf(name).includes('closed'), 'sessionChanged closed');
        strict_1.default.ok(!(await d.api.listSessions()).some((s) => s.name === name));
        const missing = await (0, daemon_1.rpcFailure)(d.api.closeSession(name));
        strict_1.default.equal(missing.code, P.ErrorCodes.SessionNotFound);
        strict_1.default.equal(missing.data?.kind, 'SessionNotFound');
        strict_1.default.equal(missing.data?.session, name);
    }));
    (0, node_test_1.test)('checkProfile says whether the default profile can open sessions', { timeout: TIMEOUT }, (0, daemon_1.withDaemon)(() => d, async (d) => {
        const check = await d.api.checkProfile();
        strict_1.default.equal(check.ok, true, JSON.stringify(check));
        strict_1.default.equal(check.profile, 'local');
        strict_1.default.match(check.message, /kernelspec 'python3'/);
        const unknown = await (0, daemon_1.rpcFailure)(d.api.checkProfile('nope'));
        strict_1.default.equal(unknown.code, P.ErrorCodes.ConfigError);
    }));
    (0, node_test_1.test)('bad params give -32602 naming the field; the daemon keeps serving', { timeout: TIMEOUT }, (0, daemon_1.withDaemon)(() => d, async (d) => {
        const badRun = await (0, daemon_1.rpcFailure)(d.connection.sendRequest(P.RUN, { session: 'it-life-bad', code: 42 }));
        strict_1.default.equal(badRun.code, P.ErrorCodes.InvalidParams);
        strict_1.default.equal(badRun.data?.kind, 'InvalidParams');
        strict_1.default.equal(badRun.data?.field, 'code');
        strict_1.default.match(badRun.message, /code/);
        const badMode = await (0, daemon_1.rpcFailure)(d.connection.sendRequest(P.RUN, { session: 'it-life-bad', code: '1', mode: 'turbo' }));
        strict_1.default.equal(badMode.code, P.ErrorCodes.InvalidParams);
        strict_1.default.equal(badMode.data?.field, 'mode');
        const noName = await (0, daemon_1.rpcFailure)(d.connection.sendRequest(P.OPEN_SESSION, {}));
        strict_1.default.equal(noName.code, P.ErrorCodes.InvalidParams);
        strict_1.default.equal(noName.data?.field, 'name');
        const badTerminal = await (0, daemon_1.rpcFailure)(d.api.closeTerminal('no-such-terminal'));
        strict_1.default.equal(badTerminal.code, P.ErrorCodes.TerminalNotFound);
        // Nothing half-done: the refused run did not open its session.
        strict_1.default.ok(!(await d.api.listSessions()).some((s) => s.name === 'it-life-bad'));
        // Still serving: a real run works.
        const r = await d.api.run({ session: 'it-life-b', code: 'print(6 * 7)' });
        strict_1.default.equal(r.status, 'finished');
        strict_1.default.equal(d.events.textOf(r.runId), '42\n');
    }));
    (0, node_test_1.test)('RunbridgeApi on the bare MessageConnection sends object params (api.ts token bug)', { timeout: TIMEOUT }, (0, daemon_1.withDaemon)(() => d, async (d) => {
        // Exactly what the extension does: the peer's sendRequest gets (method, params, undefined).
        // (It reuses the collecting handlers: vscode-jsonrpc keeps one handler per method.)
        const api = new api_1.RunbridgeApi((0, daemon_1.rawPeer)(d.connection), d.sink);
        let sessions;
        try {
            sessions = await api.listSessions();
        }
        catch (err) {
            strict_1.default.fail(`${(0, daemon_1.describeError)(err)}\nsrc/api.ts passes an undefined CancellationToken to ` +
                'sendRequest; vscode-jsonrpc (and LanguageClient) then send params as ' +
                '[params, null]. Pass the token only when it is defined.');
        }
        strict_1.default.ok(Array.isArray(sessions));
        const info = await api.openSession({ name: 'it-life-raw' });
        strict_1.default.equal(info.name, 'it-life-raw');
        const closed = await api.closeSession('it-life-raw');
        strict_1.default.equal(closed.state, 'closed');
    }));
    (0, node_test_1.test)('shutdown closes every session, exit ends the daemon with code 0', { timeout: TIMEOUT }, (0, daemon_1.withDaemon)(() => d, async (d) => {
        const r = await d.api.run({ session: 'it-life-b', code: 'import os; print(os.getpid())' });
        const kernelPid = Number(d.events.textOf(r.runId).trim());
        strict_1.default.ok(Number.isInteger(kernelPid) && kernelPid > 0, `kernel pid from ${JSON.stringify(r)} ${JSON.stringify(d.events.consoleOf(r.runId))}`);
        strict_1.default.ok(alive(kernelPid), 'kernel running before shutdown');
        await d.shutdown();
        strict_1.default.ok(!alive(kernelPid) || (await gone(kernelPid, 2_000)), 'kernel gone after shutdown');
        stopped = true;
        const code = await d.stop(); // sends exit (shutdown already answered)
        strict_1.default.equal(code, 0);
    }));
});
function alive(pid) {
    try {
        process.kill(pid, 0);
        return true;
    }
    catch {
        return false;
    }
}
async function gone(pid, ms) {
    const end = Date.now() + ms;
    while (Date.now() < end) {
        if (!alive(pid)) {
            return true;
        }
        await (0, daemon_1.sleep)(50);
    }
    return !alive(pid);
}
