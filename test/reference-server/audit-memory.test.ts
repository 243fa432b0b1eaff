import { describe, expect, it } from 'vitest';
import { runAuditMemory } from '../../bench/audit-memory.js';

// 200,000 audited requests here (about 40 s on the project's 2-core machine); `npm run
// reliability` runs a million and records the figures in RELIABILITY.md. Keeping every row
// cost about 300 bytes of RSS per request (45 MB over the measured 150,000 requests).
describe('the in-memory server under a long run of audited requests', () => {
  it('200,000 requests, half anonymous: the database stops growing after warm-up, the heap stays flat, every request is counted', async () => {
    const requests = 200_000;
    const r = await runAuditMemory({ requests, warmup: 50_000, samples: 3, concurrency: 32 });
    expect(r.statuses).toEqual({ 200: requests / 2, 401: requests / 2 });
    expect(r.audited).toEqual({ total: requests, kept: r.auditRows, granted: requests / 2, refused: requests / 2 });
    const [first, , last] = r.samples;
    // Exact: SQLite reuses the pages of pruned rows (kept, each row would add about 240 bytes: ~60 pages per 1,000 requests).
    expect(last!.dbPages).toBeLessThanOrEqual(first!.dbPages + 2);
    // The JS heap after a full GC: flat means within 16 MB plus 30 bytes per request (kept
    // rows would add ~300). RSS is measured by `npm run reliability` in a process of its own:
    // inside a test worker it moves with the allocator and whatever else the worker ran.
    expect(last!.heapUsedBytes - first!.heapUsedBytes).toBeLessThan(16 * 1024 * 1024 + 30 * (last!.requests - first!.requests));
  }, 300_000);
});
