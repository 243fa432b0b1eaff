/**
 * Runs conformance cases against one server and tells a Reporter what happens
 * (harness/events.ts). Knows no report format.
 *
 * Independent cases run at the same time (at most `concurrency`, default 8); a case that
 * changes what the server holds runs alone, and one that judges the others' answers runs
 * last. Whatever the timing, reporters get the events in catalogue order: a case's events
 * are held until every case before it has ended. A case that hangs is cut off after its
 * time limit and the run goes on. Commands check first that the server answers at all
 * (harness/preflight.ts).
 */
import { performance } from 'node:perf_hooks';
import { makeContext } from './cases/context.js';
import { multiplex } from './event-multiplexer.js';
import { CATALOGUE, CaseFailure, type ConformanceCase, type Need, type RunAnswer, type Schedule } from './cases/index.js';
import { KeyRing } from './cases/keys.js';
import type { Blamed } from './cases/types.js';
import { CmClient, type CmResponse, type RawExchange } from './wire/cm-client.js';
import { TransportError } from './wire/transport-error.js';
import { openSession, redactorFor, type CmSession } from './config-client.js';
import type { Redactor } from './redact.js';
import { reproducerFor, type Reproducer } from './reproduce.js';
import { runNotes } from './run-notes.js';
import { isDocumentedExample, type HarnessConfig } from './config.js';
import type { CaseInfo, CaseResult, Outcome, RecordedExchange, Reporter, RunReport, RunSummary } from './events.js';

/** Cases in flight at once by default: enough to hide a slow server's latency, few enough to stay polite. */
export const DEFAULT_CONCURRENCY = 8;

export interface RunOptions {
  config: HarnessConfig;
  /** Default: the whole catalogue. */
  cases?: readonly ConformanceCase[];
  reporter?: Reporter;
  /** Runs only cases whose id matches. */
  grep?: RegExp;
  /** Leaves out cases whose id matches (after grep). */
  skip?: RegExp;
  /** A case still running after this is failed and abandoned. Default: max(30 s, 6 request timeouts). */
  caseTimeoutMs?: number;
  /** Cases in flight at once (default 8); 1 runs them one after the other. */
  concurrency?: number;
  tool?: { name: string; version: string };
  /** The run's credentials and redactor; default: opened from the config (and closed) by the run. */
  session?: CmSession;
}

export function selectCases(cases: readonly ConformanceCase[], grep?: RegExp, skip?: RegExp): ConformanceCase[] {
  return cases.filter((c) => (!grep || grep.test(c.id)) && !(skip && skip.test(c.id)));
}

/** What a run shares between its cases. */
interface RunState {
  config: HarnessConfig;
  redactor: Redactor;
  /** The run's credentials per caller (one authenticator each, shared by every case's client). */
  session: CmSession;
  keys: KeyRing;
  reproducer: Reproducer;
  /** Every answer of every case, raw: for `last` cases and the run's notes. */
  answers: RunAnswer[];
  /** The raw side of each recorded exchange (for reproductions). */
  raw: WeakMap<RecordedExchange, RawExchange>;
  caseTimeoutMs: number;
}

export async function runConformance(o: RunOptions): Promise<RunReport> {
  // A reporter that throws is named once on stderr and dropped; the run goes on.
  const reporter = multiplex([{ name: 'a reporter', reporter: o.reporter ?? {} }]);
  const cases = selectCases(o.cases ?? CATALOGUE, o.grep, o.skip);
  // One redactor for the run: keys fetched by one case stay masked in every later one.
  const redactor = o.session?.redactor ?? redactorFor(o.config);
  const session = o.session ?? openSession(o.config, redactor);
  const state: RunState = {
    config: o.config,
    redactor,
    session,
    keys: KeyRing.forConfig(o.config),
    reproducer: reproducerFor(o.config, redactor),
    answers: [],
    raw: new WeakMap(),
    caseTimeoutMs: o.caseTimeoutMs ?? Math.max(30_000, o.config.timeoutMs * 6),
  };
  const started = performance.now();
  const info = {
    tool: o.tool ?? { name: 'cmcard', version: 'dev' },
    server: o.config.server,
    startedAt: new Date().toISOString(),
    cases: cases.map(caseInfo),
  };
  reporter.onRunStart?.(info);
  const events = new InOrder(cases.length);
  const results: CaseResult[] = new Array(cases.length);
  let othersEnded: () => void = () => {};
  const othersDone = new Promise<void>((resolve) => (othersEnded = resolve));
  try {
    await schedule(
      cases,
      o.config,
      o.concurrency ?? DEFAULT_CONCURRENCY,
      async (i) => {
        const c = cases[i]!;
        events.push(i, () => reporter.onCaseStart?.(caseInfo(c)));
        const last = scheduleOf(c, o.config) === 'last';
        const result = await runCase(c, state, (ex) => events.push(i, () => reporter.onExchange?.(c.id, ex)), last ? othersDone : undefined);
        results[i] = result;
        events.push(i, () => reporter.onCaseEnd?.(result), true);
      },
      othersEnded,
    );
  } finally {
    if (!o.session) await session.close();
  }
  const notes = runNotes(o.config, results, state.answers).map((n) => redactor.text(n));
  const report: RunReport = {
    ...info,
    durationMs: Math.round(performance.now() - started),
    summary: summarise(results),
    results,
    ...(notes.length ? { notes } : {}),
  };
  await reporter.onRunEnd?.(report);
  return report;
}

/** 1 when a MUST case failed (with `strict`, also when a SHOULD or MAY case warned), else 0. */
export function exitCodeFor(report: RunReport, options: { strict?: boolean } = {}): 0 | 1 {
  return report.summary.failed > 0 || (options.strict === true && report.summary.warnings > 0) ? 1 : 0;
}

export function summarise(results: CaseResult[]): RunSummary {
  const count = (o: Outcome) => results.filter((r) => r.outcome === o).length;
  return { passed: count('passed'), failed: count('failed'), warnings: count('warning'), skipped: count('skipped') };
}

function caseInfo(c: ConformanceCase): CaseInfo {
  return { id: c.id, title: c.title, level: c.level };
}

export function scheduleOf(c: ConformanceCase, config: HarnessConfig): Schedule {
  return typeof c.schedule === 'function' ? c.schedule(config) : (c.schedule ?? 'parallel');
}

/**
 * Runs `run(i)` for every case: first the `alone` ones, one after the other with nothing
 * beside them (before anything else, so no running case has to be waited for), then the
 * `parallel` ones up to `limit` at a time in catalogue order. The `last` ones start with
 * the parallel ones (outside the limit: they mostly wait) and learn through
 * `othersEnded` when every other case has ended. `run` never rejects.
 */
async function schedule(
  cases: readonly ConformanceCase[],
  config: HarnessConfig,
  limit: number,
  run: (i: number) => Promise<void>,
  othersEnded: () => void,
): Promise<void> {
  const of = (mode: Schedule): number[] => cases.flatMap((c, i) => (scheduleOf(c, config) === mode ? [i] : []));
  for (const i of of('alone')) await run(i);
  const last = of('last').map((i) => run(i));
  const running = new Set<Promise<void>>();
  for (const i of of('parallel')) {
    while (running.size >= Math.max(1, limit)) await Promise.race(running);
    const task: Promise<void> = run(i).finally(() => running.delete(task));
    running.add(task);
  }
  await Promise.all(running);
  othersEnded();
  await Promise.all(last);
}

/**
 * Delivers each case's events in catalogue order: the case at the head emits live, the
 * others are held until every case before them has ended.
 */
class InOrder {
  private head = 0;
  private readonly held: Array<{ events: Array<() => void>; ended: boolean }>;

  constructor(count: number) {
    this.held = Array.from({ length: count }, () => ({ events: [], ended: false }));
  }

  push(i: number, event: () => void, ends = false): void {
    if (i === this.head) {
      event();
      if (ends) this.advance();
      return;
    }
    const slot = this.held[i]!;
    slot.events.push(event);
    if (ends) slot.ended = true;
  }

  private advance(): void {
    this.head += 1;
    while (this.head < this.held.length) {
      const slot = this.held[this.head]!;
      for (const event of slot.events.splice(0)) event();
      if (!slot.ended) return;
      this.head += 1;
    }
  }
}

const NEED_REASONS: Record<Need, (config: HarnessConfig) => string | null> = {
  'documented-example': (cfg) =>
    cfg.cards.some(isDocumentedExample) ? null : 'no configured card is the documented example (its reqid, scid, cardid and the all-zero adminKey)',
  'forbidden-caller': (cfg) =>
    cfg.forbiddenHeaders || cfg.forbiddenAuth ? null : 'no forbiddenHeaders or forbiddenAuth in the config (a caller the server must refuse)',
  'diversified-key': (cfg) => (cfg.cards.some((c) => c.diversifiedKey) ? null : 'no card has a diversifiedKey in the config'),
  'two-cards': (cfg) => (cfg.cards.length >= 2 ? null : 'needs at least two cards in the config'),
  lifecycle: (cfg) => (cfg.lifecycle ? null : 'lifecycle is false in the config'),
};

/** `othersDone`: for a `last` case, when every other case has ended (its time limit runs from then). */
async function runCase(c: ConformanceCase, run: RunState, emit: (ex: RecordedExchange) => void, othersDone?: Promise<void>): Promise<CaseResult> {
  const { config, redactor } = run;
  const exchanges: RecordedExchange[] = [];
  const byResponse = new WeakMap<CmResponse, RecordedExchange>();
  const started = performance.now();
  let open = true;

  const mark = (ex: RecordedExchange, why: string): void => {
    ex.failed = true;
    ex.why = redactor.text(why);
  };
  const blame = (answers: readonly Blamed[], why: string): void => {
    if (!open) return;
    for (const answer of answers) {
      const recorded = isRecorded(answer) ? answer : byResponse.get(answer);
      if (!recorded) continue;
      if (exchanges.includes(recorded)) {
        mark(recorded, why);
        continue;
      }
      // Another case's exchange (secrets.no-leak): shown here too, marked.
      const copy: RecordedExchange = { ...recorded };
      const raw = run.raw.get(recorded);
      if (raw) run.raw.set(copy, raw);
      mark(copy, why);
      exchanges.push(copy);
      emit(copy);
    }
  };

  const finish = (outcome: Outcome, message: string): CaseResult => {
    open = false;
    if (outcome === 'failed' || outcome === 'warning') {
      for (const ex of exchanges) if (ex.failed) ex.reproduce = run.reproducer.curl(ex, run.raw.get(ex));
    } else {
      // A case that held failed on nothing.
      for (const ex of exchanges) {
        delete ex.failed;
        delete ex.why;
      }
    }
    // A server may echo a credential into a body the message quotes.
    return { ...caseInfo(c), outcome, message: redactor.text(message), durationMs: Math.round(performance.now() - started), exchanges };
  };
  for (const need of c.needs ?? []) {
    const reason = NEED_REASONS[need](config);
    if (reason) return finish('skipped', reason);
  }
  const client = new CmClient({
    ...run.session.options,
    onExchange: (ex, raw) => {
      // A case abandoned on timeout may still finish requests: they no longer belong to the report.
      if (!open) return;
      exchanges.push(ex);
      run.raw.set(ex, raw);
      if (raw.response) byResponse.set(raw.response, ex);
      run.answers.push({ caseId: c.id, exchange: ex, raw });
      emit(ex);
    },
  });
  const ctx = makeContext(config, client, redactor, {
    blame,
    keys: run.keys,
    run: { answers: () => run.answers.slice(), keys: () => run.keys.all(), othersDone: () => othersDone ?? Promise.resolve() },
  });
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const timeout = new Promise<never>((_, reject) => {
    const arm = (): void => {
      if (stopped) return;
      timer = setTimeout(() => reject(new CaseTimeout(`the case did not finish within ${run.caseTimeoutMs} ms`)), run.caseTimeoutMs);
    };
    // A case judged last waits for the others first: its limit runs from their end.
    if (othersDone) void othersDone.then(arm);
    else arm();
  });
  // No answer at all: the exchanges that got none are what the case failed on.
  const blameUnanswered = (why: string): void => {
    for (const ex of exchanges) if (!ex.response && !ex.failed) mark(ex, why);
  };
  try {
    const verdict = await Promise.race([c.run(ctx), timeout]);
    if (verdict.outcome === 'failed') return finish(failedOutcome(c), verdict.message);
    return finish(verdict.outcome, verdict.message);
  } catch (err) {
    if (err instanceof CaseFailure) return finish(failedOutcome(c), err.message);
    if (err instanceof CaseTimeout) {
      blameUnanswered('no answer before the case was stopped');
      return finish(failedOutcome(c), err.message);
    }
    if (err instanceof TransportError) {
      blameUnanswered(`no answer (${err.kind})`);
      return finish(failedOutcome(c), `no answer: ${err.message}`);
    }
    const message = err instanceof Error ? err.message : String(err);
    return finish(failedOutcome(c), `harness error (please report it): ${message.split('\n')[0]}`);
  } finally {
    stopped = true;
    clearTimeout(timer);
    client.close();
  }
}

function isRecorded(answer: Blamed): answer is RecordedExchange {
  return 'request' in answer;
}

class CaseTimeout extends Error {}

function failedOutcome(c: ConformanceCase): Outcome {
  return c.level === 'MUST' ? 'failed' : 'warning';
}
