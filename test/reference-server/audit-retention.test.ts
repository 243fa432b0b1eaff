import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_MEMORY_AUDIT_ROWS, Store, startReferenceServer, type AuditEntry } from '../../reference-server/index.js';
import { runCli } from '../support/cli.js';
import { EX, HELPDESK, raw, responsePath } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'cmcard-audit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const OUTCOMES = ['granted', 'refused', 'rejected', 'not-found', 'no-key'] as const;
/** Row i: its outcome cycles through OUTCOMES, its correlation id names it. */
const row = (i: number): AuditEntry => ({
  principal: i % 2 ? 'demo-helpdesk' : null,
  action: 'authenticationresponse',
  status: 200,
  outcome: OUTCOMES[i % OUTCOMES.length]!,
  correlationId: `row-${i}`,
});
/** Writes rows from..to-1 through the group commit, flushing every `batch` rows. */
function writeRows(store: Store, from: number, to: number, batch = 100): void {
  for (let i = from; i < to; i++) {
    store.commitAudit(row(i), (err) => {
      if (err) throw err;
    });
    if ((i + 1) % batch === 0) store.flushAudit();
  }
  store.flushAudit();
}
const expectedByOutcome = (n: number): Record<string, number> =>
  Object.fromEntries(OUTCOMES.map((o, k) => [o, Math.floor(n / OUTCOMES.length) + (k < n % OUTCOMES.length ? 1 : 0)]));

describe('the audit keeps the newest N rows and exact counts of all', () => {
  it('in memory: 1,000 rows written with a limit of 100 keep rows 900-999, and the counts say 1,000', () => {
    const store = new Store(undefined, { auditRows: 100 });
    try {
      writeRows(store, 0, 1000, 37);
      const rows = store.listAudit();
      expect(rows.map((r) => r.correlationId)).toEqual(Array.from({ length: 100 }, (_, i) => `row-${900 + i}`));
      expect(store.auditCounts()).toEqual({ total: 1000, kept: 100, byOutcome: { ...expectedByOutcome(1000), error: 0 } });
      expect(store.auditCount()).toBe(1000);
    } finally {
      store.close();
    }
  });

  it('a row written inside a write transaction counts and prunes like the others', () => {
    const store = new Store(undefined, { auditRows: 3 });
    try {
      for (let i = 0; i < 5; i++) store.transaction(() => store.appendAudit(row(i)));
      expect(store.listAudit().map((r) => r.correlationId)).toEqual(['row-2', 'row-3', 'row-4']);
      expect(store.auditCounts().total).toBe(5);
    } finally {
      store.close();
    }
  });

  it(`defaults: ${DEFAULT_MEMORY_AUDIT_ROWS} rows in memory, every row in a file; a limit must be 1 or more`, () => {
    const memory = new Store();
    const file = new Store(join(dir, 'defaults.db'));
    try {
      expect(memory.auditRows).toBe(DEFAULT_MEMORY_AUDIT_ROWS);
      expect(file.auditRows).toBeNull();
    } finally {
      memory.close();
      file.close();
    }
    expect(() => new Store(undefined, { auditRows: 0 })).toThrow(/auditRows must be a whole number >= 1/);
  });

  it('the in-memory database stops growing once the limit is reached (SQLite reuses the pruned pages)', () => {
    const store = new Store(undefined, { auditRows: 1000 });
    try {
      const pages = (): number => store.db.pragma('page_count', { simple: true }) as number;
      writeRows(store, 0, 5_000, 200);
      const warm = pages();
      writeRows(store, 5_000, 100_000, 200);
      // 95,000 more rows (about 10 MB of them if kept) and the database is the same size.
      expect(pages()).toBeLessThanOrEqual(warm + 2);
      expect(store.auditCounts()).toMatchObject({ total: 100_000, kept: 1000 });
    } finally {
      store.close();
    }
  });

  it('a file: counts survive restarts, a lower limit on restart prunes at once, and a limit of "all" stops pruning', () => {
    const file = join(dir, 'retention.db');
    const first = new Store(file);
    writeRows(first, 0, 25_000, 500);
    first.close();

    const second = new Store(file, { auditRows: 1000 });
    try {
      // More than one prune batch (10,000 rows) to delete at open, and all of them went.
      expect(second.auditCounts()).toEqual({ total: 25_000, kept: 1000, byOutcome: { ...expectedByOutcome(25_000), error: 0 } });
      expect(second.listAudit()[0]!.correlationId).toBe('row-24000');
      writeRows(second, 25_000, 26_000);
      expect(second.listAudit()[0]!.correlationId).toBe('row-25000');
    } finally {
      second.close();
    }

    const third = new Store(file, { auditRows: null });
    try {
      writeRows(third, 26_000, 26_500);
      expect(third.auditCounts()).toMatchObject({ total: 26_500, kept: 1500 });
    } finally {
      third.close();
    }
  });

  it('a file written before the counts were kept gets them from its rows, once', () => {
    const file = join(dir, 'older.db');
    const s = new Store(file);
    writeRows(s, 0, 42);
    s.close();
    // What an older version left: no counts table.
    const db = new Database(file);
    db.exec('DROP TABLE audit_counts');
    db.close();
    const readOnly = new Store(file, { readonly: true });
    try {
      expect(readOnly.auditCounts()).toMatchObject({ total: 42, kept: 42 });
    } finally {
      readOnly.close();
    }
    const reopened = new Store(file);
    try {
      writeRows(reopened, 42, 50);
      expect(reopened.auditCounts()).toEqual({ total: 50, kept: 50, byOutcome: { ...expectedByOutcome(50), error: 0 } });
    } finally {
      reopened.close();
    }
  });
});

describe('the server and the CLI', () => {
  it('every answer of an audited endpoint is counted, also when its row is no longer kept', async () => {
    const server = await startReferenceServer({ quiet: true, auditRows: 5 });
    try {
      const ok = responsePath(EX.reqid, EX.scid, `cardid=${EX.cardid}&challenge=1hFD%2Bcz%2F0so%3D&diversified=False`);
      for (let i = 0; i < 8; i++) await raw(server.url, ok, { headers: HELPDESK });
      for (let i = 0; i < 4; i++) await raw(server.url, ok, {});
      const counts = server.store.auditCounts();
      expect(counts).toMatchObject({ total: 12, kept: 5, byOutcome: { granted: 8, refused: 4 } });
      expect(server.store.listAudit().map((r) => r.status)).toEqual([200, 401, 401, 401, 401]);
    } finally {
      await server.close();
    }
  });

  it('--audit-rows takes a whole number or "all"; anything else is a one-line usage error', async () => {
    for (const bad of ['0', '-3', 'ten', '1.5']) {
      const r = await runCli(['serve', '--port', '0', `--audit-rows=${bad}`]);
      expect(r.code, bad).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/--audit-rows must be a whole number >= 1 or "all"/);
    }
  });

  it('--print-audit says on stderr how many rows were pruned, with the exact counts', async () => {
    const file = join(dir, 'print.db');
    const s = new Store(file, { auditRows: 10 });
    writeRows(s, 0, 30);
    s.close();
    const r = await runCli(['serve', '--db', file, '--print-audit', '--json']);
    expect(r.code).toBe(0);
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { correlationId: string }).correlationId),
    ).toEqual(Array.from({ length: 10 }, (_, i) => `row-${20 + i}`));
    expect(r.stderr).toBe('cmcard serve: 10 of 30 audit rows kept (--audit-rows); all 30: granted 6, refused 6, rejected 6, not-found 6, no-key 6\n');
  });
});
