"use strict";
// upload / listFiles / download between this machine and a session's work folder.
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
const daemon_1 = require("./daemon");
const TIMEOUT = 45_000;
(0, node_test_1.describe)('files', { timeout: 120_000 }, () => {
    let d;
    (0, node_test_1.before)(async () => {
        d = await daemon_1.Daemon.start({ label: 'files' });
    });
    (0, node_test_1.after)(async () => {
        if (d !== undefined) {
            strict_1.default.equal(await d.stop(), 0, 'daemon exit code after shutdown + exit');
        }
    });
    (0, node_test_1.test)('upload, listFiles, use in the kernel, download', { timeout: TIMEOUT }, (0, daemon_1.withDaemon)(() => d, async (d) => {
        const S = 'it-files';
        const local = path.join(d.tmp, 'local');
        fs.mkdirSync(local);
        const content = 'alpha,beta\n1,2\nünïcode ✓\n';
        const src = path.join(local, 'data.csv');
        fs.writeFileSync(src, content);
        const size = Buffer.byteLength(content);
        // Upload opens the session when needed.
        const up = await d.api.upload(S, [src]);
        strict_1.default.deepEqual(up, [{ path: 'data.csv', size }]);
        const upSub = await d.api.upload(S, [src], 'inputs/raw');
        strict_1.default.deepEqual(upSub, [{ path: 'inputs/raw/data.csv', size }]);
        const listing = await d.api.listFiles(S);
        strict_1.default.equal(listing.path, '.');
        const names = listing.entries.map((e) => e.name);
        strict_1.default.deepEqual(names, ['inputs', 'data.csv'], 'folders first, then files by name');
        const file = listing.entries[1];
        strict_1.default.equal(file.type, 'file');
        strict_1.default.equal(file.path, 'data.csv');
        strict_1.default.equal(file.size, size);
        strict_1.default.equal(typeof file.mtime, 'number');
        strict_1.default.ok(Math.abs(file.mtime * 1000 - Date.now()) < 60_000, 'mtime in seconds since the epoch');
        strict_1.default.equal(listing.entries[0].type, 'dir');
        const sub = await d.api.listFiles(S, 'inputs/raw');
        strict_1.default.deepEqual(sub.entries.map((e) => e.path), ['inputs/raw/data.csv']);
        // The kernel runs in the work folder and sees the file; it writes a result.
        const r = await d.api.run({
            session: S,
            code: "import os\nrows = open('data.csv', encoding='utf-8').read().splitlines()\n" +
                "os.makedirs('out', exist_ok=True)\n" +
                "open('out/result.txt', 'w', encoding='utf-8').write(rows[2].upper() + '\\n')\n" +
                'print(len(rows))\n',
        });
        strict_1.default.equal(r.status, 'finished', JSON.stringify(r));
        strict_1.default.equal(d.events.textOf(r.runId), '3\n');
        const dest = path.join(d.tmp, 'downloads');
        fs.mkdirSync(dest);
        const down = await d.api.download(S, ['out/result.txt', 'data.csv'], dest);
        strict_1.default.equal(down.length, 2);
        for (const entry of down) {
            strict_1.default.ok(path.isAbsolute(entry.path), entry.path);
            strict_1.default.ok(entry.path.startsWith(dest + path.sep), entry.path);
            strict_1.default.equal(fs.statSync(entry.path).size, entry.size);
        }
        const result = down.find((e) => path.basename(e.path) === 'result.txt');
        strict_1.default.ok(result, JSON.stringify(down));
        strict_1.default.equal(fs.readFileSync(result.path, 'utf8'), 'ÜNÏCODE ✓\n');
        const back = down.find((e) => path.basename(e.path) === 'data.csv');
        strict_1.default.ok(back);
        strict_1.default.equal(fs.readFileSync(back.path, 'utf8'), content, 'round trip keeps the bytes');
    }));
    (0, node_test_1.test)('refused transfers copy nothing and name the problem', { timeout: TIMEOUT }, (0, daemon_1.withDaemon)(() => d, async (d) => {
        const S = 'it-files';
        const good = path.join(d.tmp, 'good.txt');
        fs.writeFileSync(good, 'ok\n');
        const missing = path.join(d.tmp, 'missing.txt');
        const e1 = await (0, daemon_1.rpcFailure)(d.api.upload(S, [good, missing]));
        strict_1.default.equal(e1.code, P.ErrorCodes.FileError);
        strict_1.default.equal(e1.data?.kind, 'FileError');
        strict_1.default.ok(!(await d.api.listFiles(S)).entries.some((e) => e.name === 'good.txt'), 'nothing copied');
        const e2 = await (0, daemon_1.rpcFailure)(d.api.upload(S, [good], '../escape'));
        strict_1.default.equal(e2.code, P.ErrorCodes.FileError);
        const e3 = await (0, daemon_1.rpcFailure)(d.api.upload(S, [good], '/tmp'));
        strict_1.default.equal(e3.code, P.ErrorCodes.FileError);
        strict_1.default.ok(!fs.existsSync(path.join(d.env.RUNBRIDGE_DATA_DIR, 'sessions', 'escape')));
        const e4 = await (0, daemon_1.rpcFailure)(d.api.listFiles(S, '../..'));
        strict_1.default.equal(e4.code, P.ErrorCodes.FileError);
        const e5 = await (0, daemon_1.rpcFailure)(d.api.download(S, ['nope.txt'], d.tmp));
        strict_1.default.equal(e5.code, P.ErrorCodes.FileError);
        const e6 = await (0, daemon_1.rpcFailure)(d.api.listFiles('it-files-none'));
        strict_1.default.equal(e6.code, P.ErrorCodes.SessionNotFound);
    }));
});
