/**
 * Runs conformance cases one after the other against one server and tells a Reporter what
 * happens (harness/events.ts). Knows no report format. A case that hangs is cut off after
 * its time limit and the run goes on. Commands check first that the server answers at
 * all (harness/reachable.ts).
 */
import { performance } from 'node:perf_hooks';
import { makeContext } from './cases/context.js';
import { multiplex } from './event-multiplexer.js';
import { CATALOGUE, CaseFailure, type ConformanceCase, type Need } from './cases/index.js';
import { CmClient } from './wire/cm-client.js';
import { TransportError } from './wire/transport-error.js';
import { openSession, redactorFor, type CmSession } from './config-client.js';
import type { Redactor } from './redact.js';
import { isDocumentedExample, type HarnessConfig } from './config.js';
import type { CaseInfo, CaseResult, Outcome, RecordedExchange, Reporter, RunReport, RunSummary } from './events.js';

export interface RunOptions {
  config: HarnessConfig;
  /** Default: the whole catalogue. */
  cases?: readonly ConformanceCase[];
  reporter?: Reporter;
  /** Runs only cases whose id matches. */
  grep?: RegExp;
  /** A case still running after this is failed and abandoned. Default: max(30 s, 6 request timeouts). */
  caseTimeoutMs?: number;
  tool?: { name: string; version: string };
  /** The run's credentials and redactor; default: opened from the config (and closed) by the run. */
  session?: CmSession;
}

export function selectCases(cases: readonly ConformanceCase[], grep?: RegExp): ConformanceCase[] {
  return grep ? cases.filter((c) => grep.test(c.id)) : [...cases];
}

export async function runConformance(o: RunOptions): Promise<RunReport> {
  // A reporter that throws is named once on stderr and dropped; the run goes on.
  const reporter = multiplex([{ name: 'a reporter', reporter: o.reporter ?? {} }]);
  const cases = selectCases(o.cases ?? CATALOGUE, o.grep);
  // One redactor for the run: keys fetched by one case stay masked in every later one.
  const redactor = o.session?.redactor ?? redactorFor(o.config);
  const session = o.session ?? openSession(o.config, redactor);
  const caseTimeoutMs = o.caseTimeoutMs ?? Math.max(30_000, o.config.timeoutMs * 6);
  const started = performance.now();
  const info = {
    tool: o.tool ?? { name: 'cmcard', version: 'dev' },
    server: o.config.server,
    startedAt: new Date().toISOString(),
    cases: cases.map(caseInfo),
  };
  reporter.onRunStart?.(info);
  const results: CaseResult[] = [];
  try {
    for (const c of cases) {
      reporter.onCaseStart?.(caseInfo(c));
      const result = await runCase(c, o.config, session, caseTimeoutMs, (ex) => reporter.onExchange?.(c.id, ex));
      results.push(result);
      reporter.onCaseEnd?.(result);
    }
  } finally {
    if (!o.session) await session.close();
  }
  const report: RunReport = { ...info, durationMs: Math.round(performance.now() - started), summary: summarise(results), results };
  await reporter.onRunEnd?.(report);
  return report;
}

/** SPEC.md section 3: 1 when a MUST case failed, else 0. */
export function exitCodeFor(report: RunReport): 0 | 1 {
  return report.summary.failed > 0 ? 1 : 0;
}

export function summarise(results: CaseResult[]): RunSummary {
  const count = (o: Outcome) => results.filter((r) => r.outcome === o).length;
  return { passed: count('passed'), failed: count('failed'), warnings: count('warning'), skipped: count('skipped') };
}

function caseInfo(c: ConformanceCase): CaseInfo {
  return { id: c.id, title: c.title, level: c.level };
}

const NEED_REASONS: Record<Need, (config: HarnessConfig) => string | null> = {
  'documented-example': (cfg) => (cfg.cards.some(isDocumentedExample) ? null : 'no configured card is the documented example (its reqid, scid, cardid and the all-zero adminKey)'),
  'forbidden-caller': (cfg) => (cfg.forbiddenHeaders || cfg.forbiddenAuth ? null : 'no forbiddenHeaders or forbiddenAuth in the config (a caller the server must refuse)'),
  'diversified-key': (cfg) => (cfg.cards.some((c) => c.diversifiedKey) ? null : 'no card has a diversifiedKey in the config'),
  'two-cards': (cfg) => (cfg.cards.length >= 2 ? null : 'needs at least two cards in the config'),
  lifecycle: (cfg) => (cfg.lifecycle ? null : 'lifecycle is false in the config'),
};

async function runCase(c: ConformanceCase, config: HarnessConfig, session: CmSession, timeoutMs: number, emit: (ex: RecordedExchange) => void): Promise<CaseResult> {
  const { redactor } = session;
  const exchanges: RecordedExchange[] = [];
  const started = performance.now();
  let open = true;
  const finish = (outcome: Outcome, message: string): CaseResult => {
    open = false;
    // A server may echo a credential into a body the message quotes.
    return { ...caseInfo(c), outcome, message: redactor.text(message), durationMs: Math.round(performance.now() - started), exchanges };
  };
  for (const need of c.needs ?? []) {
    const reason = NEED_REASONS[need](config);
    if (reason) return finish('skipped', reason);
  }
  const client = new CmClient({
    ...session.options,
    onExchange: (ex) => {
      // A case abandoned on timeout may still finish requests: they no longer belong to the report.
      if (!open) return;
      exchanges.push(ex);
      emit(ex);
    },
  });
  const ctx = makeContext(config, client, redactor);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CaseTimeout(`the case did not finish within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const verdict = await Promise.race([c.run(ctx), timeout]);
    if (verdict.outcome === 'failed') return finish(failedOutcome(c), verdict.message);
    return finish(verdict.outcome, verdict.message);
  } catch (err) {
    if (err instanceof CaseFailure || err instanceof CaseTimeout) return finish(failedOutcome(c), err.message);
    if (err instanceof TransportError) return finish(failedOutcome(c), `no answer: ${err.message}`);
    const message = err instanceof Error ? err.message : String(err);
    return finish(failedOutcome(c), `harness error (please report it): ${message.split('\n')[0]}`);
  } finally {
    clearTimeout(timer);
    client.close();
  }
}

class CaseTimeout extends Error {}

function failedOutcome(c: ConformanceCase): Outcome {
  return c.level === 'MUST' ? 'failed' : 'warning';
}
