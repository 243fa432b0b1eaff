import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runFuzz, type FuzzResult } from '../../harness/fuzz/engine.js';
import type { InvariantId } from '../../harness/fuzz/invariants.js';
import { startReferenceServer } from '../../reference-server/index.js';
import { startFuzzBrokenServer, seedConfig, type FuzzDefect } from './support/fuzz-broken-servers.js';

// `cmcard fuzz`'s engine against real servers on loopback: clean on the reference server
// (in memory and with a database file), and each planted lifecycle defect found within a
// bounded number of sequences from a fixed seed, shrunk to at most 4 steps, and replayed
// by its seed and path. The full 2,000-sequence clean runs are measured by
// `npm run bench -- fuzz` (BENCHMARKS.md); here 300 sequences each keep the suite quick.

const CLEAN_RUNS = 300;
/** Every planted defect is found well within this many sequences from SEED (most within 50). */
const SEARCH_RUNS = 200;
const SEED = 1;
const MAX_STEPS = 4;

const replayCommand = (seed: number, path: string): string => `cmcard fuzz --seed ${seed} --path '${path}'`;
const dir = mkdtempSync(join(tmpdir(), 'cmcard-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function expectClean(result: FuzzResult, runs: number): void {
  const notPassed = result.report.results.filter((r) => r.outcome !== 'passed').map((r) => `${r.id}: ${r.message}`);
  expect(notPassed).toEqual([]);
  expect(result.findings).toEqual([]);
  expect(result.stats.sequences).toBe(runs);
  // Sequences did real work: lifecycle steps and questions, several per sequence.
  expect(result.stats.steps).toBeGreaterThan(runs * 3);
}

describe('cmcard fuzz on the reference server', () => {
  it(`${CLEAN_RUNS} sequences, in memory: every invariant holds`, async () => {
    const server = await startFuzzBrokenServer();
    try {
      expectClean(await runFuzz({ config: server.config, runs: CLEAN_RUNS, seed: 11, replayCommand }), CLEAN_RUNS);
    } finally {
      await server.close();
    }
  }, 120_000);

  it(`${CLEAN_RUNS} sequences, with a database file: every invariant holds`, async () => {
    const server = await startReferenceServer({ host: '127.0.0.1', port: 0, quiet: true, dbFile: join(dir, 'cm.db') });
    try {
      expectClean(await runFuzz({ config: seedConfig(server.url, 'reference server with --db'), runs: CLEAN_RUNS, seed: 12, replayCommand }), CLEAN_RUNS);
    } finally {
      await server.close();
    }
  }, 120_000);
});

const PLANTED: Array<{ defect: FuzzDefect; invariant: InvariantId; outcome: 'failed' | 'warning' }> = [
  { defect: 'answers-after-completed', invariant: 'fuzz.closed-request-silent', outcome: 'warning' },
  { defect: 'answers-after-retired', invariant: 'fuzz.retired-card-silent', outcome: 'warning' },
  { defect: 'foreign-card-after-read', invariant: 'fuzz.ids-enforced', outcome: 'failed' },
  { defect: 'key-after-forbidden', invariant: 'fuzz.rights-enforced', outcome: 'failed' },
  { defect: 'odd-challenge-500', invariant: 'fuzz.no-server-error', outcome: 'failed' },
];

describe('cmcard fuzz finds, shrinks and replays each planted defect', () => {
  for (const p of PLANTED) {
    it(`${p.defect}: ${p.invariant} within ${SEARCH_RUNS} sequences of seed ${SEED}, at most ${MAX_STEPS} steps, replayed`, async () => {
      const server = await startFuzzBrokenServer(p.defect);
      try {
        const result = await runFuzz({ config: server.config, runs: SEARCH_RUNS, seed: SEED, replayCommand });
        const finding = result.findings.find((f) => f.invariant.id === p.invariant);
        expect(finding, `findings: ${result.findings.map((f) => f.invariant.id).join(', ') || 'none'}`).toBeDefined();
        expect(finding!.found!.sequence).toBeLessThanOrEqual(SEARCH_RUNS);
        expect(finding!.steps.length).toBeLessThanOrEqual(MAX_STEPS);
        expect(finding!.brk.step).toBe(finding!.steps.length);

        const reported = result.report.results.find((r) => r.id === p.invariant)!;
        expect(reported.outcome).toBe(p.outcome);
        expect(reported.exchanges).toHaveLength(finding!.steps.length);
        const lines = reported.message.split('\n');
        expect(lines.filter((l) => /^\d+\. /.test(l))).toHaveLength(finding!.steps.length);
        expect(lines.filter((l) => l.startsWith('   curl '))).toHaveLength(finding!.steps.length);
        expect(lines.at(-1)).toBe(`replay: cmcard fuzz --seed ${finding!.seed} --path '${finding!.path}'`);
        // Nothing secret in what is printed: the demo tokens are credentials like any other.
        const printed = JSON.stringify(result.report);
        expect(printed).not.toContain('demo-helpdesk');
        expect(printed).not.toContain('demo-user');

        // The seed and path alone bring back the same sequence, and it breaks the same invariant at the same step.
        const again = await runFuzz({ config: server.config, seed: finding!.seed, path: finding!.path, replayCommand });
        const replayed = again.findings.find((f) => f.invariant.id === p.invariant);
        expect(replayed, `replay found: ${again.findings.map((f) => f.invariant.id).join(', ') || 'nothing'}`).toBeDefined();
        expect(replayed!.steps.map((s) => s.title.replace(/cardid [0-9a-f-]{36}/, 'cardid …'))).toEqual(
          finding!.steps.map((s) => s.title.replace(/cardid [0-9a-f-]{36}/, 'cardid …')),
        );
        expect(replayed!.brk.step).toBe(finding!.brk.step);
        expect(again.stats.sequences).toBe(1);
      } finally {
        await server.close();
      }
    }, 180_000);
  }
});
