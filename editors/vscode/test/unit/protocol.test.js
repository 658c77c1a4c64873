"use strict";
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
// docs/protocol.md and src/protocol.ts must name the same methods and error codes.
const node_test_1 = require("node:test");
const strict_1 = __importDefault(require("node:assert/strict"));
const fs = __importStar(require("node:fs"));
const path = __importStar(require("node:path"));
const P = __importStar(require("../../src/protocol"));
/** The repository root: the first folder above this file holding docs/protocol.md. */
function repoRoot() {
    for (let dir = __dirname;; dir = path.dirname(dir)) {
        if (fs.existsSync(path.join(dir, 'docs', 'protocol.md')))
            return dir;
        if (path.dirname(dir) === dir)
            throw new Error(`docs/protocol.md not found above ${__dirname}`);
    }
}
const doc = fs.readFileSync(path.join(repoRoot(), 'docs', 'protocol.md'), 'utf8');
/** The rows of the markdown table whose header row is `header`, as trimmed cells. */
function table(header) {
    const lines = doc.split('\n');
    const start = lines.findIndex((l) => l.trim() === header);
    strict_1.default.ok(start >= 0, `table "${header}" not found in docs/protocol.md`);
    const rows = [];
    for (const line of lines.slice(start + 2)) {
        if (!line.trim().startsWith('|'))
            break;
        rows.push(line.trim().replace(/^\||\|$/g, '').split('|').map((c) => c.trim()));
    }
    return rows;
}
const sorted = (xs) => [...new Set(xs)].sort();
(0, node_test_1.describe)('protocol.ts matches docs/protocol.md', () => {
    (0, node_test_1.it)('the documented version is PROTOCOL_VERSION', () => {
        strict_1.default.match(doc, new RegExp(`^# runbridge protocol v${P.PROTOCOL_VERSION}$`, 'm'));
        strict_1.default.match(doc, new RegExp(`"protocolVersion": ${P.PROTOCOL_VERSION},`));
    });
    (0, node_test_1.it)('documents exactly the runbridge/ methods protocol.ts exports', () => {
        // a method's heading (### or ####, maybe followed by "(notification, ...)"), or a list item that opens with it ("- `runbridge/cellAt` params")
        const documented = sorted([...doc.matchAll(/^(?:#{3,4} `(runbridge\/[A-Za-z]+)`(?:\s*$| \()|- `(runbridge\/[A-Za-z]+)` params)/gm)].map((m) => m[1] ?? m[2]));
        const exported = sorted(Object.values(P).filter((v) => typeof v === 'string' && v.startsWith('runbridge/')));
        strict_1.default.ok(documented.length >= 18, `only ${documented.length} method headings found`);
        strict_1.default.deepEqual(documented, exported);
    });
    (0, node_test_1.it)('the error table matches ErrorCodes', () => {
        const rows = table('| code | kind | when |').map(([code, kind]) => ({ code: Number(code), kind }));
        strict_1.default.ok(rows.length >= 12 && rows.every((r) => Number.isInteger(r.code)), JSON.stringify(rows));
        // A kind is either `Name` or words ("request cancelled" -> RequestCancelled).
        const name = (kind) => kind.startsWith('`') ? kind.replace(/`/g, '') : kind.replace(/(^|\s+)(\w)/g, (_, _s, c) => c.toUpperCase());
        const documented = new Map(rows.map((r) => [name(r.kind), r.code]));
        const codes = P.ErrorCodes;
        for (const [kind, code] of Object.entries(codes)) {
            strict_1.default.equal(documented.get(kind), code, `ErrorCodes.${kind}`);
        }
        // Every documented class has its constant, except JSON-RPC's own internal error,
        // which clients handle like any other unexpected failure.
        const missing = [...documented.keys()].filter((kind) => !(kind in codes));
        strict_1.default.deepEqual(missing, ['InternalError']);
        strict_1.default.equal(documented.get('InternalError'), -32603);
    });
    (0, node_test_1.it)('the daemon commands the code lenses carry are documented', () => {
        strict_1.default.ok(doc.includes(`\`${P.SERVER_RUN_CELL}\``));
        strict_1.default.ok(doc.includes(`\`${P.SERVER_RUN_ABOVE}\``));
    });
    (0, node_test_1.it)('the initialize options protocol.ts sends are documented', () => {
        for (const key of ['languages', 'cellMarkers']) {
            strict_1.default.ok(doc.includes(`initializationOptions.${key}`), key);
        }
    });
    (0, node_test_1.it)('the console record table names the clear-output kind', () => {
        const kinds = table('| kind | data |').map(([kind]) => kind);
        strict_1.default.ok(kinds.includes(`\`${P.CLEAR_OUTPUT_KIND}\``));
    });
});
