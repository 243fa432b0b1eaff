/**
 * What a run says once, in its summary, instead of in many case lines: the likely root
 * cause when several cases failed for one reason (every call with the configured
 * credentials answered 401, every 200 body unquoted, every response decrypted), and that
 * every configured key is DES-weak (so a server that decrypts would pass).
 */
import type { HarnessConfig } from './config.js';
import type { CaseResult } from './events.js';
import { everyKeyWeak } from './cases/helpers.js';
import type { RunAnswer } from './cases/index.js';

/** A cause is a root cause when this many failing cases share it (or every failing case, when at least two fail). */
const SHARED_BY = 3;

export function runNotes(config: Pick<HarnessConfig, 'cards' | 'source'>, results: readonly CaseResult[], answers: readonly RunAnswer[]): string[] {
  const notes: string[] = [];
  const failing = results.filter((r) => r.outcome === 'failed' || r.outcome === 'warning');
  const explained = new Set<string>();

  // Every request sent with the configured credentials refused: nothing else can be judged.
  const withRights = answers.filter((a) => a.raw.caller === 'rights' && a.raw.response);
  const statuses = new Set(withRights.map((a) => a.raw.response!.status));
  if (failing.length >= 2 && withRights.length >= 3 && statuses.size === 1 && (statuses.has(401) || statuses.has(403))) {
    const status = [...statuses][0]!;
    notes.push(
      status === 401
        ? `likely root cause of ${failing.length} failing cases: every request with the configured credentials was answered 401 (${withRights.length} requests): ` +
            `the server does not accept them; check headers in ${config.source}`
        : `likely root cause of ${failing.length} failing cases: every request with the configured credentials was answered 403 (${withRights.length} requests): ` +
            `the configured caller may not obtain responses; give it the right, or configure a caller that has it`,
    );
    explained.add(`answered ${status}`);
  }

  const answered = answers.filter((a) => a.raw.response);
  if (answers.length >= 3 && answered.length === 0 && failing.length >= 2) {
    notes.push(`likely root cause of ${failing.length} failing cases: no request got an answer (${answers[0]!.exchange.error ?? 'no answer'})`);
  }

  // One cause behind many failing cases: say it once.
  const byCause = new Map<string, Set<string>>();
  for (const r of failing) {
    for (const e of r.exchanges) {
      if (!e.failed || !e.why || explained.has(e.why)) continue;
      if (!byCause.has(e.why)) byCause.set(e.why, new Set());
      byCause.get(e.why)!.add(r.id);
    }
  }
  const shared = [...byCause.entries()]
    .filter(([, ids]) => ids.size >= SHARED_BY || (ids.size >= 2 && ids.size === failing.length))
    .sort((a, b) => b[1].size - a[1].size);
  for (const [why, ids] of shared.slice(0, 2)) {
    notes.push(`likely root cause of ${ids.size} failing cases (${[...ids].join(', ')}): ${why}`);
  }

  if (everyKeyWeak(config)) {
    notes.push(
      'every configured admin key is DES-weak (encryption equals decryption under it, as under the all-zero default key): ' +
        'a server that decrypts instead of encrypting would pass the cases that use it; add a card with a non-weak key',
    );
  }
  return notes;
}
