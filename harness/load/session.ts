import { CmClient, fetchDiversifiedKey } from '../wire/cm-client.js';
import { CmFormatError } from '../wire/decode.js';
import { createLoadTransport } from '../wire/load-transport.js';
import { openSession, type CmSession } from '../config-client.js';
import type { CardConfig, HarnessConfig } from '../config.js';
import { InputError } from '../../simulator/errors.js';
import { LoadRun, type LoadStats, type StopRule } from './engine.js';
import { judgeLoad, summariseLoad, type LoadSummary, type LoadVerdict } from './summary.js';

/**
 * One load run against a configured server: picks the cards and their keys, wires the
 * HTTP transport to the engine, and judges the outcome. No printing: the command does that.
 */

export interface LoadSessionOptions {
  config: HarnessConfig;
  /** The run's credentials (an auth block authenticates each connection once); default: opened from the config. */
  session?: CmSession;
  concurrency: number;
  stop: StopRule;
  /** Ask for diversified=True responses, checked against each card's diversified key. */
  diversified: boolean;
  maxErrorRate: number;
  /**
   * Exchanges before the measured run, for this long, over the same connections: JIT,
   * sockets and server caches settle first. Not in the summary, but a wrong cryptogram
   * there still fails the run and an unreachable server ends it.
   */
  warmupMs?: number;
  signal?: AbortSignal;
  /** Called every `progressEveryMs` while the run goes (live progress on a TTY). */
  onProgress?: (stats: LoadStats, elapsedMs: number) => void;
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
}

interface KeyedCard {
  card: CardConfig;
  key: Buffer;
}

export async function runLoadSession(o: LoadSessionOptions): Promise<LoadOutcome> {
  const { config } = o;
  const session = o.session ?? openSession(config);
  try {
    return await runWith(o, session);
  } finally {
    if (!o.session) await session.close();
  }
}

async function runWith(o: LoadSessionOptions, session: CmSession): Promise<LoadOutcome> {
  const { config } = o;
  const keyed = o.diversified ? await diversifiedCards(config, session) : config.cards.map((card) => ({ card, key: card.adminKey }));
  const transport = createLoadTransport({
    server: config.server,
    basePath: config.basePath,
    headers: config.headers,
    ...(session.auth ? { auth: session.auth } : {}),
    ...(config.tls ? { tls: config.tls } : {}),
    timeoutMs: config.timeoutMs,
    concurrency: o.concurrency,
    diversified: o.diversified,
    targets: keyed.map(({ card }) => ({ reqid: card.reqid, scid: card.scid, cardid: card.cardid, ...(card.atr ? { atr: card.atr } : {}) })),
  });
  const plan = {
    cards: keyed.map(({ card, key }) => ({ adminKey: key, cardid: card.cardid })),
    concurrency: o.concurrency,
    send: transport.send,
    ...(o.signal ? { signal: o.signal } : {}),
  };
  let ticker: NodeJS.Timeout | undefined;
  try {
    let warmup: LoadStats | null = null;
    if (o.warmupMs && o.warmupMs > 0) {
      warmup = await new LoadRun({ ...plan, stop: { durationMs: o.warmupMs } }).run();
      if (warmup.unreachable || warmup.interrupted) {
        const summary = summariseLoad(warmup);
        return { stats: warmup, warmup, summary, verdict: judgeLoad(warmup, summary, o.maxErrorRate), cards: keyed.map(({ card }) => card.name) };
      }
    }
    const run = new LoadRun({ ...plan, stop: o.stop });
    if (o.onProgress) ticker = setInterval(() => o.onProgress!(run.stats, run.elapsed()), o.progressEveryMs ?? 250);
    const stats = await run.run();
    const summary = summariseLoad(stats);
    const verdict = judgeLoad(stats, summary, o.maxErrorRate);
    return { stats, warmup, summary, verdict: withWarmup(verdict, warmup), cards: keyed.map(({ card }) => card.name) };
  } finally {
    if (ticker) clearInterval(ticker);
    await transport.close();
  }
}

/** A wrong cryptogram in the warm-up fails the run too: every response is checked. */
function withWarmup(verdict: LoadVerdict, warmup: LoadStats | null): LoadVerdict {
  if (!warmup || warmup.wrongCryptograms === 0 || verdict.exitCode === 3) return verdict;
  const reason = `${warmup.wrongCryptograms} response(s) in the warm-up failed card verification`;
  return { exitCode: 1, reason: verdict.reason ? `${verdict.reason}; ${reason}` : reason };
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
