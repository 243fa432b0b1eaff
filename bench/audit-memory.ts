// Memory of the in-memory reference server under a long run of audited requests: half of
// them anonymous (401, a refusal row), half the help desk's (200, a granted row), over
// loopback from undici keep-alive connections in this same process. RSS, the JS heap and
// the SQLite page count are sampled after warm-up and then at steps to the end, each after
// a full garbage collection. Used by `npm run reliability` (a million requests) and by
// test/reference-server/audit-memory.test.ts (fewer).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Pool } from 'undici';
import { startReferenceServer } from '../reference-server/index.js';

export interface AuditMemoryOptions {
  requests: number;
  /** Requests before the first sample (the server's caches, V8's code and the ring fill up). */
  warmup: number;
  /** Samples after warm-up, evenly spaced to the end. */
  samples?: number;
  /** Requests in flight at once (keep-alive connections). */
  concurrency?: number;
  /** The server's audit row limit (default: its in-memory default). */
  auditRows?: number;
}

export interface MemorySample {
  requests: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** The SQLite database's size in pages (4 KB each). */
  dbPages: number;
}

export interface AuditMemoryResult {
  samples: MemorySample[];
  /** Answers by status. */
  statuses: Record<number, number>;
  /** The server's exact audit counts at the end. */
  audited: { total: number; kept: number; granted: number; refused: number };
  auditRows: number | null;
  ms: number;
}

const PATH =
  '/CertificateManagement/api/v1.0/requests/a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099/smartcards/17cf063d-e337-4aa9-a822-346554ddd3c9/authenticationresponse?cardid=bc88f13f-83ba-4037-8262-46eba1291c6e&challenge=1hFD%2Bcz%2F0so%3D&diversified=False';
const HELPDESK = { authorization: 'Bearer demo-helpdesk' };

/** A full garbage collection, with or without --expose-gc. */
function collectGarbage(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g();
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

export async function runAuditMemory(options: AuditMemoryOptions): Promise<AuditMemoryResult> {
  const concurrency = options.concurrency ?? 32;
  const sampleCount = options.samples ?? 4;
  const server = await startReferenceServer({ quiet: true, ...(options.auditRows === undefined ? {} : { auditRows: options.auditRows }) });
  const pool = new Pool(server.url, { connections: concurrency, pipelining: 1, keepAliveTimeout: 60_000 });
  const statuses: Record<number, number> = {};
  const samples: MemorySample[] = [];
  const started = Date.now();
  try {
    const sample = async (requests: number): Promise<void> => {
      await new Promise((r) => setImmediate(r));
      collectGarbage();
      samples.push({
        requests,
        rssBytes: process.memoryUsage.rss(),
        heapUsedBytes: process.memoryUsage().heapUsed,
        dbPages: server.store.db.pragma('page_count', { simple: true }) as number,
      });
    };
    const stops = Array.from(
      { length: sampleCount },
      (_, i) => options.warmup + Math.round(((options.requests - options.warmup) * i) / Math.max(1, sampleCount - 1)),
    );
    let sent = 0;
    for (const stop of stops) {
      // `concurrency` loops, each sending its next request when the last one answered.
      const loop = async (): Promise<void> => {
        while (sent < stop) {
          const anonymous = sent++ % 2 === 0;
          const r = await pool.request({ path: PATH, method: 'GET', ...(anonymous ? {} : { headers: HELPDESK }) });
          await r.body.dump();
          statuses[r.statusCode] = (statuses[r.statusCode] ?? 0) + 1;
        }
      };
      await Promise.all(Array.from({ length: concurrency }, loop));
      await sample(stop);
    }
    const counts = server.store.auditCounts();
    return {
      samples,
      statuses,
      auditRows: server.store.auditRows,
      ms: Date.now() - started,
      audited: { total: counts.total, kept: counts.kept, granted: counts.byOutcome.granted, refused: counts.byOutcome.refused },
    };
  } finally {
    await pool.close();
    await server.close();
  }
}
