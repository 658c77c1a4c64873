// docs/protocol.md and src/protocol.ts must name the same methods and error codes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as P from '../../src/protocol';

/** The repository root: the first folder above this file holding docs/protocol.md. */
function repoRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'docs', 'protocol.md'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`docs/protocol.md not found above ${__dirname}`);
  }
}

const doc = fs.readFileSync(path.join(repoRoot(), 'docs', 'protocol.md'), 'utf8');

/** The rows of the markdown table whose header row is `header`, as trimmed cells. */
function table(header: string): string[][] {
  const lines = doc.split('\n');
  const start = lines.findIndex((l) => l.trim() === header);
  assert.ok(start >= 0, `table "${header}" not found in docs/protocol.md`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.trim().startsWith('|')) break;
    rows.push(line.trim().replace(/^\||\|$/g, '').split('|').map((c) => c.trim()));
  }
  return rows;
}

const sorted = (xs: Iterable<string>): string[] => [...new Set(xs)].sort();

describe('protocol.ts matches docs/protocol.md', () => {
  it('the documented version is PROTOCOL_VERSION', () => {
    assert.match(doc, new RegExp(`^# runbridge protocol v${P.PROTOCOL_VERSION}$`, 'm'));
    assert.match(doc, new RegExp(`"protocolVersion": ${P.PROTOCOL_VERSION},`));
  });

  it('documents exactly the runbridge/ methods protocol.ts exports', () => {
    // a method's heading (### or ####, maybe followed by "(notification, ...)"), or a list item that opens with it ("- `runbridge/cellAt` params")
    const documented = sorted(
      [...doc.matchAll(/^(?:#{3,4} `(runbridge\/[A-Za-z]+)`(?:\s*$| \()|- `(runbridge\/[A-Za-z]+)` params)/gm)].map((m) => m[1] ?? m[2]),
    );
    const exported = sorted(
      (Object.values(P) as unknown[]).filter((v): v is string => typeof v === 'string' && v.startsWith('runbridge/')),
    );
    assert.ok(documented.length >= 18, `only ${documented.length} method headings found`);
    assert.deepEqual(documented, exported);
  });

  it('the error table matches ErrorCodes', () => {
    const rows = table('| code | kind | when |').map(([code, kind]) => ({ code: Number(code), kind }));
    assert.ok(rows.length >= 12 && rows.every((r) => Number.isInteger(r.code)), JSON.stringify(rows));
    // A kind is either `Name` or words ("request cancelled" -> RequestCancelled).
    const name = (kind: string): string =>
      kind.startsWith('`') ? kind.replace(/`/g, '') : kind.replace(/(^|\s+)(\w)/g, (_, _s, c: string) => c.toUpperCase());
    const documented = new Map(rows.map((r) => [name(r.kind), r.code]));
    const codes: Record<string, number> = P.ErrorCodes;

    for (const [kind, code] of Object.entries(codes)) {
      assert.equal(documented.get(kind), code, `ErrorCodes.${kind}`);
    }
    // Every documented class has its constant, except JSON-RPC's own internal error,
    // which clients handle like any other unexpected failure.
    const missing = [...documented.keys()].filter((kind) => !(kind in codes));
    assert.deepEqual(missing, ['InternalError']);
    assert.equal(documented.get('InternalError'), -32603);
  });

  it('the daemon commands the code lenses carry are documented', () => {
    assert.ok(doc.includes(`\`${P.SERVER_RUN_CELL}\``));
    assert.ok(doc.includes(`\`${P.SERVER_RUN_ABOVE}\``));
  });

  it('the initialize options protocol.ts sends are documented', () => {
    for (const key of ['languages', 'cellMarkers']) {
      assert.ok(doc.includes(`initializationOptions.${key}`), key);
    }
  });

  it('the console record table names the clear-output kind', () => {
    const kinds = table('| kind | data |').map(([kind]) => kind);
    assert.ok(kinds.includes(`\`${P.CLEAR_OUTPUT_KIND}\``));
  });
});
