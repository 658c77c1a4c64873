"use strict";
// Documents and language features, through the API the extension uses and the LSP
// messages vscode-languageclient sends (didOpen / didChange, completion, hover, code
// lenses, executeCommand), against the real daemon and a real local kernel.
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
const clientOptions_1 = require("../../src/core/clientOptions");
const P = __importStar(require("../../src/protocol"));
const daemon_1 = require("./daemon");
const TIMEOUT = 60_000;
/** The settings' defaults, as the extension sends them. */
function defaultOptions() {
    const pkg = JSON.parse(fs.readFileSync(path.join((0, daemon_1.repoRoot)(), 'editors', 'vscode', 'package.json'), 'utf8'));
    const props = pkg.contributes.configuration.properties;
    return (0, clientOptions_1.initializationOptions)({
        outputCapMb: 10,
        defaultProfile: '',
        languages: props['runbridge.languages'].default,
        cellMarkers: props['runbridge.cellMarkers'].default,
    });
}
const TEXT = [
    'import os', //                                   0
    '# %% setup', //                                  1
    'kernel_only_name_42 = 1', //                     2
    'def rb_documented(a, b):', //                    3
    '    """rb docstring for the hover"""', //        4
    '    return a + b', //                            5
    '', //                                            6
    '# %% use', //                                    7
    'print("cell says", kernel_only_name_42 * 42)', // 8
    '', //                                            9
].join('\n');
(0, node_test_1.describe)('documents and language features', { timeout: 180_000 }, () => {
    let d;
    const S = 'it-docs';
    const uri = 'file:///rb-it/documents/demo.py';
    (0, node_test_1.before)(async () => {
        d = await daemon_1.Daemon.start({ label: 'docs', initializationOptions: defaultOptions() });
    });
    (0, node_test_1.after)(async () => {
        if (d !== undefined) {
            strict_1.default.equal(await d.stop(), 0, 'daemon exit code after shutdown + exit');
        }
    });
    (0, node_test_1.test)('capabilities: incremental sync, completion, hover, signature help, code lenses, symbols', (0, daemon_1.withDaemon)(() => d, async (d) => {
        const caps = d.initializeResult.capabilities;
        const sync = caps.textDocumentSync;
        strict_1.default.equal(typeof sync === 'object' ? sync.change : sync, 2);
        for (const provider of ['completionProvider', 'hoverProvider', 'signatureHelpProvider', 'codeLensProvider', 'documentSymbolProvider']) {
            strict_1.default.ok(caps[provider], provider);
        }
        strict_1.default.ok(caps.executeCommandProvider?.commands.includes(P.SERVER_RUN_CELL));
        strict_1.default.ok(caps.executeCommandProvider?.commands.includes(P.SERVER_RUN_ABOVE));
    }));
    (0, node_test_1.test)('an opened document is bound; its cells from the default markers; runs bind it; bindDocument rebinds', { timeout: TIMEOUT }, (0, daemon_1.withDaemon)(() => d, async (d) => {
        await d.connection.sendNotification('textDocument/didOpen', {
            textDocument: { uri, languageId: 'python', version: 1, text: TEXT },
        });
        const opened = await d.waitFor(() => d.events.documentBounds.find((b) => b.uri === uri), 'documentBound after didOpen');
        strict_1.default.equal(opened.session, d.serverInfo.defaultSession);
        const at = await d.api.cellAt(uri, { line: 4, character: 2 });
        strict_1.default.ok(at.cell, JSON.stringify(at));
        strict_1.default.equal(at.cell.title, 'setup');
        strict_1.default.deepEqual(at.cell.codeRange, { start: { line: 2, character: 0 }, end: { line: 6, character: 0 } });
        strict_1.default.equal(at.cell.code, TEXT.split('\n').slice(2, 6).join('\n'));
        strict_1.default.deepEqual(at.next, { line: 8, character: 0 });
        strict_1.default.deepEqual(at.above.map((c) => c.code), ['import os']);
        const none = await d.api.cellAt('file:///rb-it/not-open.py', { line: 0, character: 0 });
        strict_1.default.deepEqual(none, { cell: null, next: null, above: [] });
        const lenses = await d.connection.sendRequest('textDocument/codeLens', { textDocument: { uri } });
        const runCell = lenses.filter((l) => l.command.command === P.SERVER_RUN_CELL);
        strict_1.default.deepEqual(runCell.map((l) => l.range.start.line), [1, 7]);
        strict_1.default.ok(runCell.every((l) => /Run Cell/.test(l.command.title)));
        strict_1.default.deepEqual(runCell[1].command.arguments, [{ uri, line: 7 }]);
        // the key binding's path: the cell from cellAt, run with uri + codeRange
        await d.api.openSession({ name: S });
        const result = await d.api.run({ session: S, code: at.cell.code, uri, range: at.cell.codeRange, languageId: 'python' });
        strict_1.default.equal(result.status, 'finished');
        await d.waitFor(() => d.events.documentBounds.find((b) => b.uri === uri && b.session === S), 'documentBound after a run in another session');
        const bound = await d.api.bindDocument(uri, 'elsewhere');
        strict_1.default.deepEqual(bound, { uri, session: 'elsewhere' });
        await d.waitFor(() => d.events.documentBounds.find((b) => b.uri === uri && b.session === 'elsewhere'), 'documentBound after bindDocument');
        strict_1.default.deepEqual(await d.api.bindDocument(uri, S), { uri, session: S });
        const bad = await (0, daemon_1.rpcFailure)(d.api.bindDocument(42, S));
        strict_1.default.equal(bad.code, P.ErrorCodes.InvalidParams);
    }));
    (0, node_test_1.test)('runbridge/variables lists what the runs defined, no private names, no modules, functions or classes', { timeout: TIMEOUT }, (0, daemon_1.withDaemon)(() => d, async (d) => {
        const vars = await d.api.variables(S);
        strict_1.default.equal(vars.session, S);
        const v = vars.variables.find((x) => x.name === 'kernel_only_name_42');
        strict_1.default.ok(v, JSON.stringify(vars.variables));
        strict_1.default.deepEqual(v, { name: 'kernel_only_name_42', type: 'int', value: '1', size: null });
        strict_1.default.ok(!vars.variables.some((x) => x.name === 'rb_documented'), 'a function is code, not data');
        strict_1.default.ok(!vars.variables.some((x) => x.name.startsWith('_') || x.name === 'os'), 'no private names, no modules');
        const missing = await (0, daemon_1.rpcFailure)(d.api.variables('it-docs-never-opened'));
        strict_1.default.equal(missing.code, P.ErrorCodes.SessionNotFound);
    }));
    (0, node_test_1.test)('completion and hover come from the live session', { timeout: TIMEOUT }, (0, daemon_1.withDaemon)(() => d, async (d) => {
        // the user types a new line at the end (incremental didChange)
        await d.connection.sendNotification('textDocument/didChange', {
            textDocument: { uri, version: 2 },
            contentChanges: [{ range: { start: { line: 9, character: 0 }, end: { line: 9, character: 0 } }, text: 'kernel_only_n' }],
        });
        // The kernel's first completion can miss the daemon's 1 s budget (IPython loads its
        // completer): that answer is empty, as the editor's is; asking again, as typing does, gets it.
        const complete = async () => {
            const completion = await d.connection.sendRequest('textDocument/completion', { textDocument: { uri }, position: { line: 9, character: 13 } });
            if (!Array.isArray(completion)) {
                strict_1.default.equal(completion.isIncomplete, true, 'marked incomplete, so editors merge their own sources');
            }
            return Array.isArray(completion) ? completion : completion.items;
        };
        let items = [];
        for (let attempt = 1; attempt <= 20; attempt++) {
            items = await complete();
            if (items.some((i) => i.label === 'kernel_only_name_42'))
                break;
            await new Promise((r) => setTimeout(r, 500));
        }
        strict_1.default.ok(items.some((i) => i.label === 'kernel_only_name_42'), JSON.stringify(items.slice(0, 20)));
        const hover = await d.connection.sendRequest('textDocument/hover', { textDocument: { uri }, position: { line: 3, character: 6 } });
        strict_1.default.ok(hover, 'a hover on rb_documented');
        strict_1.default.match(JSON.stringify(hover.contents), /rb docstring for the hover/);
    }));
    (0, node_test_1.test)('the lens command runs its cell in the document session, as a run with uri and range', { timeout: TIMEOUT }, (0, daemon_1.withDaemon)(() => d, async (d) => {
        const result = await d.connection.sendRequest('workspace/executeCommand', {
            command: P.SERVER_RUN_CELL,
            arguments: [{ uri, line: 7 }],
        });
        strict_1.default.equal(result.status, 'finished');
        strict_1.default.equal(d.events.textOf(result.runId), 'cell says 42\n');
    }));
});
