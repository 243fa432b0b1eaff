/**
 * One sequence against the real server: the "real system" of the model-based test. It
 * owns a CmClient of its own (fresh connections per caller, so a sequence that depends on
 * a connection's history replays the same way), sends each planned step, checks every
 * invariant on the answer, lets the step update the model, and records what was sent for
 * the report. Requests are recorded raw and redacted only when a finding is printed.
 */
import { VirtualCard } from '../../simulator/card.js';
import { judgeResponse, type OtherKey } from '../cases/cryptogram.js';
import { clientOptionsFor, type CmSession } from '../config-client.js';
import type { HarnessConfig } from '../config.js';
import type { RecordedExchange } from '../events.js';
import { Redactor } from '../redact.js';
import { CmClient, type CmResponse, type RequestOverrides } from '../wire/cm-client.js';
import { TransportError } from '../wire/transport-error.js';
import { GARBAGE_CREDENTIALS, type CallerChoice } from './inputs.js';
import { checkStep, type Answer, type AskFacts, type Break, type CheckEnv, type Endpoint } from './invariants.js';
import type { FuzzModel, ModelCard } from './model.js';

/** One request as a command resolved it against the model. */
export interface PlannedStep {
  endpoint: Endpoint;
  caller: CallerChoice;
  method: 'GET' | 'POST' | 'PUT';
  /** Path and query below the base path. */
  path: string;
  /** A JSON body. */
  body?: string;
  /** For people: what the step does, e.g. `retire card #1, as the caller with rights`. */
  title: string;
  ask?: AskFacts;
  /** The model's change once the answer is in. */
  apply?(answer: Answer, ctx: ApplyContext): void;
}

export interface ApplyContext {
  model: FuzzModel;
  step: number;
  /** A diversified key the server handed out: known from now on, and the answers waiting for it are judged. */
  learnKey(card: ModelCard, key: Buffer): void;
}

export interface StepRecord {
  index: number;
  title: string;
  caller: CallerChoice;
  method: string;
  /** From the origin: base path, path and query. */
  path: string;
  body?: string;
  /** `201`, or why no answer came. */
  outcome: string;
  /** Exactly what went out and came back, unredacted: only `recordedExchange` may let it out. */
  raw: { headers: Record<string, string>; answer: Answer };
}

export interface SequenceEnv {
  config: HarnessConfig;
  /** The run's masking: every configured credential and key; keys handed out by the server are added to it. */
  redactor: Redactor;
  /** Finds the config's keys in a text (a Redactor that knows only keys). */
  keyFinder: Redactor;
  /** The config's keys. */
  keys: readonly Buffer[];
  /** Whether a break ends the sequence here (a search) or is only collected (a replay). */
  stopsAt(b: Break): boolean;
  /** After every HTTP step. */
  onStep?(): void;
  /** The run's session: each caller's credentials; without it, the config's fixed headers. */
  session?: CmSession;
}

/** Thrown out of a step to end the sequence: fast-check sees a failing property. */
export class InvariantBroken extends Error {
  override readonly name = 'InvariantBroken';
  constructor(readonly brk: Break) {
    super(`${brk.invariant} at step ${brk.step}: ${brk.message}`);
  }
}

export class FuzzSequence {
  readonly steps: StepRecord[] = [];
  readonly breaks: Break[] = [];
  private readonly client: CmClient;
  private keyFinder: Redactor;
  private readonly learned: Buffer[] = [];

  constructor(private readonly env: SequenceEnv) {
    // Connections of its own (closed with it), never the run's shared ones: a server that
    // keeps state per connection must meet each sequence, and its replay, as new.
    const { agents: _shared, ...options } = env.session?.options ?? clientOptionsFor(env.config, env.redactor);
    this.client = new CmClient(options);
    this.keyFinder = env.keyFinder;
  }

  async step(model: FuzzModel, plan: PlannedStep): Promise<void> {
    const index = this.steps.length + 1;
    const path = `${this.client.target.basePath}${plan.path}`;
    const overrides: RequestOverrides & { body?: string } = { ...callerOverrides(plan.caller), ...(plan.body !== undefined ? { body: plan.body } : {}) };
    let answer: Answer;
    try {
      answer = toAnswer(await this.client.raw(plan.method, path, overrides));
    } catch (err) {
      if (!(err instanceof TransportError)) throw err;
      answer = { error: `${err.kind}: ${err.message}` };
    }
    this.env.onStep?.();
    this.steps.push({
      index,
      title: plan.title,
      caller: plan.caller,
      method: plan.method,
      path,
      ...(plan.body !== undefined ? { body: plan.body } : {}),
      outcome: 'status' in answer ? String(answer.status) : `no answer (${answer.error.split(':')[0]})`,
      raw: { headers: this.sentHeaders(plan), answer },
    });
    const breaks = checkStep(
      {
        step: index,
        endpoint: plan.endpoint,
        caller: plan.caller,
        sent: { url: `${this.client.target.origin}${path}`, ...(plan.body !== undefined ? { body: plan.body } : {}) },
        answer,
        ...(plan.ask ? { ask: plan.ask } : {}),
      },
      this.checkEnv(index),
    );
    plan.apply?.(answer, { model, step: index, learnKey: (card, key) => breaks.push(...this.learnKey(card, key, index)) });
    this.breaks.push(...breaks);
    const stop = breaks.find((b) => this.env.stopsAt(b));
    if (stop) throw new InvariantBroken(stop);
  }

  /** The step's exchange as the report shows it: credentials and keys masked, a diversifiedkey body never shown. */
  recordedExchange(step: StepRecord): RecordedExchange {
    const given = Object.entries(step.raw.headers).filter(([name]) => !['accept', 'content-type'].includes(name.toLowerCase()));
    const redactor = this.env.redactor.with(given.map(([, v]) => v));
    const request: RecordedExchange['request'] = {
      method: step.method,
      url: `${this.client.target.origin}${step.path}`,
      headers: step.raw.headers,
      ...(step.body !== undefined ? { body: step.body } : {}),
    };
    const a = step.raw.answer;
    if ('error' in a) return redactor.exchange({ request, error: a.error, durationMs: 0 });
    return redactor.exchange({ request, response: { status: a.status, headers: a.headers, body: a.body }, durationMs: a.durationMs });
  }

  close(): void {
    this.client.close();
  }

  get origin(): string {
    return this.client.target.origin;
  }

  /** The headers CmClient sends for this caller (see CmClient.send). */
  private sentHeaders(plan: PlannedStep): Record<string, string> {
    const c = this.env.config;
    const caller =
      plan.caller.kind === 'rights'
        ? c.headers
        : plan.caller.kind === 'forbidden'
          ? (c.forbiddenHeaders ?? {})
          : plan.caller.kind === 'garbage'
            ? { Authorization: GARBAGE_CREDENTIALS[plan.caller.garbage]! }
            : {};
    return { ...caller, Accept: 'application/json', ...(plan.body !== undefined ? { 'Content-Type': 'application/json' } : {}) };
  }

  private checkEnv(step: number): CheckEnv {
    return {
      hasKeyMaterial: (text) => this.keyFinder.text(text) !== text,
      judge: judgeWithCard,
      defer: (card, challenge, response) => {
        card.pending.push({ step, challenge, response });
      },
    };
  }

  private learnKey(card: ModelCard, key: Buffer, step: number): Break[] {
    card.diversifiedKey = key;
    this.learned.push(key);
    this.keyFinder = new Redactor([], [...this.env.keys, ...this.learned]);
    this.env.redactor.addKeys([key]);
    const out: Break[] = [];
    for (const p of card.pending) {
      const problem = judgeWithCard(card, key, p.challenge, p.response, true);
      if (problem) {
        out.push({
          invariant: 'fuzz.cryptogram-verifies',
          step,
          message: `the diversified=true answer of step ${p.step} for ${card.label} (${p.challenge.length}-byte challenge) does not verify under the key the diversifiedkey endpoint handed out in step ${step}: ${problem}`,
        });
      }
    }
    card.pending = [];
    return out;
  }
}

function callerOverrides(caller: CallerChoice): RequestOverrides {
  switch (caller.kind) {
    case 'rights':
    case 'forbidden':
    case 'anonymous':
      return { caller: caller.kind };
    case 'garbage':
      return { headers: { Authorization: GARBAGE_CREDENTIALS[caller.garbage]! } };
  }
}

function toAnswer(res: CmResponse): Answer {
  return { status: res.status, headers: res.headers, body: res.body, durationMs: res.durationMs };
}

/** A virtual card holding `key`, whose pending challenge is the one the step sent, judges the answer. */
export function judgeWithCard(
  card: ModelCard,
  key: Buffer,
  challenge: Buffer,
  response: Extract<Answer, { status: number }>,
  diversified: boolean,
): string | null {
  const vc = VirtualCard.create({ adminKey: key, pin: '1234', cardId: card.cardid, adminTries: null }, { random: () => Buffer.from(challenge) });
  vc.getChallenge(challenge.length);
  const others: OtherKey[] = diversified
    ? [{ label: "the template's default key (diversified=false's key)", key: card.adminKey }]
    : card.diversifiedKey
      ? [{ label: "the card's diversified key (diversified=true's key)", key: card.diversifiedKey }]
      : [];
  return judgeResponse(vc, key, challenge, response, others);
}
