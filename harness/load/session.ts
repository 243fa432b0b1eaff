import { CmClient, fetchDiversifiedKey } from '../wire/cm-client.js';
import { withHeaders } from '../wire/auth/headers.js';
import { CmFormatError } from '../wire/decode.js';
import { createLoadTransport } from '../wire/load-transport.js';
import { openSession, type CmSession } from '../config-client.js';
import type { CardConfig, HarnessConfig } from '../config.js';
import { InputError } from '../../simulator/errors.js';
import { connectionsFor, LoadRun, MAX_CONNECTIONS, type LoadModel, type LoadPlan, type LoadStats, type StopRule } from './engine.js';
import { Profile, type Stage } from './stages.js';
import { criteriaFor, firstLostCause, judgeLoad, summariseLoad, type LiveProgress, type LoadCriteria, type LoadSummary, type LoadVerdict } from './summary.js';
import type { Threshold } from './thresholds.js';
import { explainWrong, othersFor, type JudgedCard, type WrongDetail } from './wrong-cryptograms.js';

/**
 * One load run against a configured server: picks the cards and their keys, builds the
 * profile (workers or rate, constant or in stages), wires the HTTP transport to the
 * engine, watches the thresholds, and judges the outcome. No printing: the command does that.
 */

/** What the user asked for: N workers (closed model) or N exchanges per second (open model), optionally in stages. */
export type LoadShape = { model: 'closed'; concurrency?: number; stages?: Stage[] } | { model: 'open'; rate?: number; connections?: number; stages?: Stage[] };

export interface LoadSessionOptions {
  config: HarnessConfig;
  /** The run's credentials (an auth block authenticates each connection once); default: opened from the config. */
  session?: CmSession;
  shape: LoadShape;
  /** Required without stages; with stages the run lasts as long as they do. */
  stop?: StopRule;
  /** Ask for diversified=True responses, checked against each card's diversified key. */
  diversified: boolean;
  /** --max-error-rate when given (0..1). */
  maxErrorRate?: number;
  thresholds?: Threshold[];
  /** Stop the run as soon as a threshold (or a default rule) can no longer hold. */
  abortOnFail?: boolean;
  /**
   * Exchanges before the measured run, for this long, over the same connections: JIT,
   * sockets and server caches settle first. Not in the summary, but a wrong cryptogram
   * there still fails the run and an unreachable server ends it.
   */
  warmupMs?: number;
  signal?: AbortSignal;
  /** Called every `progressEveryMs` while the run goes (live progress on a TTY). */
  onProgress?: (progress: LiveProgress) => void;
  progressEveryMs?: number;
}

export interface LoadOutcome {
  stats: LoadStats;
  /** The warm-up's stats, when there was one. */
  warmup: LoadStats | null;
  summary: LoadSummary;
  verdict: LoadVerdict;
  /** The cards that took part. */
  cards: string[];
  /** Connections the run used (the pool in the open model). */
  connections: number;
}

/** How often --abort-on-fail looks at the thresholds. */
const WATCH_EVERY_MS = 100;
/** Default open-model pool: enough connections for 100 ms of latency at the peak rate. */
export function defaultConnections(peakRate: number): number {
  return Math.min(MAX_CONNECTIONS, Math.max(16, Math.ceil(peakRate / 10)));
}

/** The engine's model and stop rule for what the user asked. */
export function planShape(shape: LoadShape, stop: StopRule | undefined): { model: LoadModel; stop: StopRule } {
  const start = shape.model === 'closed' ? shape.concurrency : shape.rate;
  let profile: Profile;
  if (shape.stages && shape.stages.length > 0) {
    profile = new Profile(start ?? 0, shape.stages);
    stop = { durationMs: profile.durationMs };
  } else {
    if (start === undefined) throw new RangeError(shape.model === 'closed' ? 'concurrency is required' : 'rate is required');
    if (!stop) throw new RangeError('a stop rule is required without stages');
    profile = Profile.constant(start, 'durationMs' in stop ? stop.durationMs : Number.POSITIVE_INFINITY);
  }
  const model: LoadModel =
    shape.model === 'closed' ? { kind: 'closed', profile } : { kind: 'open', profile, connections: shape.connections ?? defaultConnections(profile.peak) };
  return { model, stop };
}

interface KeyedCard {
  card: CardConfig;
  key: Buffer;
}

export async function runLoadSession(o: LoadSessionOptions): Promise<LoadOutcome> {
  const session = o.session ?? openSession(o.config);
  try {
    return await runWith(o, session);
  } finally {
    if (!o.session) await session.close();
  }
}

async function runWith(o: LoadSessionOptions, session: CmSession): Promise<LoadOutcome> {
  const { config } = o;
  const { model, stop } = planShape(o.shape, o.stop);
  const keyed = o.diversified ? await diversifiedCards(config, session) : config.cards.map((card) => ({ card, key: card.adminKey }));
  const connections = connectionsFor(model, stop);
  // An auth block of fixed headers has no handshake to run: its headers join the others on
  // the raw HTTP path (the session's authenticator has already registered them as secrets).
  const fixedAuth = config.auth?.type === 'headers' ? config.auth.headers : undefined;
  const transport = createLoadTransport({
    server: config.server,
    basePath: config.basePath,
    headers: fixedAuth ? withHeaders(config.headers, fixedAuth) : config.headers,
    ...(session.auth && !fixedAuth ? { auth: session.auth } : {}),
    ...(config.tls ? { tls: config.tls } : {}),
    timeoutMs: config.timeoutMs,
    connections,
    diversified: o.diversified,
    targets: keyed.map(({ card }) => ({ reqid: card.reqid, scid: card.scid, cardid: card.cardid, ...(card.atr ? { atr: card.atr } : {}) })),
  });
  const thresholds = o.thresholds ?? [];
  const criteria = criteriaFor(thresholds, o.maxErrorRate);
  const base = {
    cards: keyed.map(({ card, key }) => ({ adminKey: key, cardid: card.cardid })),
    send: transport.send,
    ...(o.signal ? { signal: o.signal } : {}),
  };
  const names = keyed.map(({ card }) => card.name);
  const withStages = (o.shape.stages?.length ?? 0) > 0;
  const judged = judgedCards(keyed, o.diversified);
  const redactor = session.redactor.addKeys(keyed.map((k) => k.key));
  const finish = (stats: LoadStats, warmup: LoadStats | null): LoadOutcome => {
    const wrong: WrongDetail[] = [
      ...(warmup ? explainWrong(warmup.wrongSamples, 'warmup', judged, redactor) : []),
      ...(stats === warmup ? [] : explainWrong(stats.wrongSamples, 'run', judged, redactor)),
    ].slice(0, 5);
    const summary = summariseLoad(stats, { thresholds, withStages, wrong });
    const verdict = judgeLoad(stats, summary, criteria);
    return { stats, warmup, summary, verdict: stats === warmup ? verdict : withWarmup(verdict, warmup), cards: names, connections };
  };
  const timers: NodeJS.Timeout[] = [];
  try {
    let warmup: LoadStats | null = null;
    if (o.warmupMs && o.warmupMs > 0) {
      warmup = await new LoadRun({ ...base, ...warmupPlan(model, connections), stop: { durationMs: o.warmupMs } }).run();
      if (warmup.unreachable || warmup.interrupted) return finish(warmup, warmup);
    }
    const run = new LoadRun({ ...base, model, stop } satisfies LoadPlan);
    const stages = withStages ? model.profile.stages.length : 0;
    if (o.onProgress) {
      const report = o.onProgress;
      let last = { at: 0, exchanges: 0 };
      timers.push(
        setInterval(() => {
          const elapsedMs = run.elapsed();
          const exchanges = run.stats.exchanges;
          const recentRate = elapsedMs > last.at ? ((exchanges - last.exchanges) * 1000) / (elapsedMs - last.at) : 0;
          last = { at: elapsedMs, exchanges };
          report({ stats: run.stats, elapsedMs, target: run.target(), stage: stages > 0 ? model.profile.stageAt(elapsedMs) + 1 : 0, stages, recentRate });
        }, o.progressEveryMs ?? 250),
      );
    }
    if (o.abortOnFail) timers.push(setInterval(() => watch(run, criteria), WATCH_EVERY_MS));
    const stats = await run.run();
    return finish(stats, warmup);
  } finally {
    for (const t of timers) clearInterval(t);
    await transport.close();
  }
}

/** --abort-on-fail: ends the run once a rule in force can no longer be met. */
function watch(run: LoadRun, criteria: LoadCriteria): void {
  const lost = firstLostCause(run.stats, run.elapsed(), criteria, run.outlook());
  if (lost) run.stop(lost.text);
}

/**
 * The warm-up: the same model held at its first working value (the starting workers or
 * rate, or the first stage's target when the profile starts at 0).
 */
function warmupPlan(model: LoadModel, connections: number): { model: LoadModel } {
  const p = model.profile;
  const first = p.start > 0 ? p.start : (p.stages.find((s) => s.target > 0)?.target ?? p.peak);
  if (model.kind === 'closed')
    return { model: { kind: 'closed', profile: Profile.constant(Math.max(1, Math.min(connections, Math.ceil(first))), Number.POSITIVE_INFINITY) } };
  return { model: { kind: 'open', profile: Profile.constant(first, Number.POSITIVE_INFINITY), connections } };
}

/** A wrong cryptogram in the warm-up fails the run too: every response is checked. */
function withWarmup(verdict: LoadVerdict, warmup: LoadStats | null): LoadVerdict {
  if (!warmup || warmup.wrongCryptograms === 0 || verdict.exitCode === 3) return verdict;
  const reason = `${warmup.wrongCryptograms} response(s) in the warm-up failed card verification`;
  return { exitCode: 1, reason: verdict.reason ? `${verdict.reason}; ${reason}` : reason };
}

function judgedCards(keyed: KeyedCard[], diversified: boolean): JudgedCard[] {
  const keys = keyed.map(({ card, key }) => ({
    name: card.name,
    adminKey: card.adminKey,
    diversifiedKey: diversified ? key : card.diversifiedKey instanceof Buffer ? card.diversifiedKey : undefined,
  }));
  return keyed.map(({ card, key }, i) => ({ name: card.name, cardid: card.cardid, key, others: othersFor(keys, i, diversified) }));
}

/**
 * The cards that have a diversified key, with `"server"` keys fetched once up front from
 * the diversifiedkey endpoint (as the documented enrollment walkthrough does).
 */
async function diversifiedCards(config: HarnessConfig, session: CmSession): Promise<KeyedCard[]> {
  const withKey = config.cards.filter((c) => c.diversifiedKey !== undefined);
  if (withKey.length === 0) throw new InputError(`--diversified: no card in ${config.source} has a diversifiedKey`);
  const client = new CmClient(session.options);
  try {
    const out: KeyedCard[] = [];
    for (const card of withKey) {
      if (card.diversifiedKey !== 'server') {
        out.push({ card, key: card.diversifiedKey! });
        continue;
      }
      // The same fetch and rules as the conformance cases; the reason never quotes the body (a key).
      const fetched = await fetchDiversifiedKey(client, card);
      if (!fetched.key) throw new CmFormatError(`card ${card.name}: ${fetched.reason}`);
      out.push({ card, key: fetched.key });
    }
    return out;
  } finally {
    client.close();
  }
}
