"use strict";
// Remote terminals on the local backend: a shell in a PTY in the session's work folder.
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
const node_test_1 = require("node:test");
const P = __importStar(require("../../src/protocol"));
const daemon_1 = require("./daemon");
const TIMEOUT = 45_000;
(0, node_test_1.describe)('terminals', { timeout: 120_000 }, () => {
    let d;
    (0, node_test_1.before)(async () => {
        d = await daemon_1.Daemon.start({ label: 'terminal' });
    });
    (0, node_test_1.after)(async () => {
        if (d !== undefined) {
            strict_1.default.equal(await d.stop(), 0, 'daemon exit code after shutdown + exit');
        }
    });
    (0, node_test_1.test)('open, type, resize, close', { timeout: TIMEOUT }, (0, daemon_1.withDaemon)(() => d, async (d) => {
        const S = 'it-term';
        const session = await d.api.openSession({ name: S });
        const id = await d.api.openTerminal(S, 24, 80);
        strict_1.default.equal(typeof id, 'string');
        strict_1.default.ok(id.length > 0);
        await d.api.terminalInput(id, 'echo rb-$((6*7))\r');
        await d.waitFor(() => d.events.terminalText(id).includes('rb-42'), "'rb-42' in the terminal");
        // The shell's initial size, then a resize.
        await d.api.terminalInput(id, 'echo size=$(stty size)\r');
        await d.waitFor(() => d.events.terminalText(id).includes('size=24 80'), "'size=24 80'");
        await d.api.resizeTerminal(id, 40, 120);
        await d.api.terminalInput(id, 'echo size=$(stty size)\r');
        await d.waitFor(() => d.events.terminalText(id).includes('size=40 120'), "'size=40 120'");
        // Work folder and TERM as documented.
        await d.api.terminalInput(id, 'echo "cwd=$PWD term=$TERM"\r');
        await d.waitFor(() => d.events.terminalText(id).includes(`cwd=${session.workdir} term=xterm-256color`), 'cwd and TERM echoed');
        // Multi-byte text arrives intact.
        await d.api.terminalInput(id, "printf '%s\\n' \"héllo wörld ✓\"\r");
        await d.waitFor(() => d.events.terminalText(id).includes('héllo wörld ✓\r\n'), 'UTF-8 text');
        await d.api.closeTerminal(id);
        const exit = await d.waitFor(() => d.events.terminalExits.find((e) => e.terminalId === id), 'runbridge/terminalExit', 5_000);
        strict_1.default.ok(exit.exitCode === null || Number.isInteger(exit.exitCode), JSON.stringify(exit));
        // The terminal is gone: closing again is TerminalNotFound; input to it is logged.
        const again = await (0, daemon_1.rpcFailure)(d.api.closeTerminal(id));
        strict_1.default.equal(again.code, P.ErrorCodes.TerminalNotFound);
        strict_1.default.equal(again.data?.terminal, id);
        const logsBefore = d.events.logMessages.length;
        await d.api.terminalInput(id, 'echo nobody\r');
        const warning = await d.waitFor(() => d.events.logMessages.slice(logsBefore).find((m) => m.message.includes(id)), 'a window/logMessage about the unknown terminal');
        strict_1.default.equal(warning.type, 2, JSON.stringify(warning));
    }));
    (0, node_test_1.test)('a shell that exits by itself reports its exit code', { timeout: TIMEOUT }, (0, daemon_1.withDaemon)(() => d, async (d) => {
        const id = await d.api.openTerminal('it-term');
        await d.api.terminalInput(id, 'exit 3\r');
        const exit = await d.waitFor(() => d.events.terminalExits.find((e) => e.terminalId === id), 'runbridge/terminalExit', 5_000);
        strict_1.default.equal(exit.exitCode, 3);
    }));
    (0, node_test_1.test)('closing the session ends its terminals', { timeout: TIMEOUT }, (0, daemon_1.withDaemon)(() => d, async (d) => {
        const S = 'it-term-close';
        // like run and upload, openTerminal opens a session that is not open yet
        const id = await d.api.openTerminal(S, 10, 40);
        strict_1.default.ok((await d.api.listSessions()).some((s) => s.name === S && s.state === 'idle'));
        await d.api.terminalInput(id, 'echo up\r');
        await d.waitFor(() => d.events.terminalText(id).includes('up\r\n'), "'up' echoed");
        await d.api.closeSession(S);
        await d.waitFor(() => d.events.terminalExits.find((e) => e.terminalId === id), 'terminalExit after closeSession', 5_000);
    }));
});
