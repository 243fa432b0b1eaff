/**
 * What must hold after every step of any sequence, for any correct CM server (MUST), and
 * what the reference server's lifecycle semantics expect (SHOULD). Each invariant is a
 * case of the report (events.ts): id, title, level. `checkStep` is pure: the facts of one
 * step (what was asked, of what, by whom; what came back) in, the broken invariants out.
 */
import type { CaseInfo } from '../events.js';
import { bodySnippet } from '../cases/cryptogram.js';
import { findLeak } from '../cases/errors.js';
import type { CallerChoice, ChallengeReading, DiversifiedReading } from './inputs.js';
import { describeCaller } from './inputs.js';
import type { ModelCard, ModelRequest } from './model.js';

export type InvariantId =
  | 'fuzz.no-server-error'
  | 'fuzz.no-internals'
  | 'fuzz.rights-enforced'
  | 'fuzz.ids-enforced'
  | 'fuzz.params-required'
  | 'fuzz.no-key-material'
  | 'fuzz.cryptogram-verifies'
  | 'fuzz.closed-request-silent'
  | 'fuzz.retired-card-silent'
  | 'fuzz.bad-input-refused';

export interface Invariant extends CaseInfo {
  id: InvariantId;
  /** Only sequences with the request and smart card endpoints can break it. */
  lifecycle?: true;
}

/** In the order a step is checked: when one step breaks several, the first is the one reported. */
export const INVARIANTS: readonly Invariant[] = [
  { id: 'fuzz.no-server-error', level: 'MUST', title: 'No 5xx, and every request gets an answer (no timeout, no dropped connection)' },
  { id: 'fuzz.no-internals', level: 'MUST', title: 'No error body shows a stack trace, file path or exception type' },
  { id: 'fuzz.rights-enforced', level: 'MUST', title: 'Callers without rights get nothing but 401/403 (4xx for a request too malformed to route)' },
  { id: 'fuzz.ids-enforced', level: 'MUST', title: 'Never a response or key for unknown, malformed or mismatched reqid/scid/cardid' },
  { id: 'fuzz.params-required', level: 'MUST', title: 'No response without a challenge or a diversified parameter' },
  { id: 'fuzz.no-key-material', level: 'MUST', title: "No answer carries key material, except the diversifiedkey endpoint's 200 to the caller with rights" },
  { id: 'fuzz.cryptogram-verifies', level: 'MUST', title: "Every 200 cryptogram is accepted by a virtual card holding the card's expected key" },
  { id: 'fuzz.closed-request-silent', level: 'SHOULD', title: 'No response or key under a request that is Completed, Canceled or Abandoned', lifecycle: true },
  { id: 'fuzz.retired-card-silent', level: 'SHOULD', title: 'No response or key for a Retired card', lifecycle: true },
  {
    id: 'fuzz.bad-input-refused',
    level: 'SHOULD',
    title: 'A challenge no card issues, a diversified value that is no boolean or an ATR that is no ATR gets no 200',
  },
];

export function invariant(id: InvariantId): Invariant {
  return INVARIANTS.find((i) => i.id === id)!;
}

export interface Break {
  invariant: InvariantId;
  /** 1-based step of the sequence. */
  step: number;
  message: string;
}

export type Endpoint =
  'authenticationresponse' | 'diversifiedkey' | 'create-request' | 'read-request' | 'close-request' | 'create-card' | 'read-card' | 'retire-card';

export type Answer = { status: number; headers: Record<string, string>; body: string; durationMs: number } | { error: string };

/** What the ids of an authenticationresponse/diversifiedkey request point at, as far as the config and this sequence know. */
export type IdsTarget = { card: ModelCard; request: ModelRequest } | { mismatch: string };

export interface AskFacts {
  target: IdsTarget;
  /** The request is well formed: GUIDs in their plain form, every parameter present and readable. */
  wellFormed: boolean;
  /** Required parameters left out (cardid is part of the ids). */
  missing: Array<'challenge' | 'diversified'>;
  /** authenticationresponse only. */
  challenge?: ChallengeReading;
  diversified?: DiversifiedReading;
  /** An `atr` parameter that is not an ATR was sent. */
  badAtr?: boolean;
}

export interface StepFacts {
  step: number;
  endpoint: Endpoint;
  caller: CallerChoice;
  /** What went out, for telling an echo from a leak. */
  sent: { url: string; body?: string };
  answer: Answer;
  /** For the two endpoints that hand out responses and keys. */
  ask?: AskFacts;
  /** Lifecycle steps: the request is well formed (no malformed ids). */
  wellFormed?: boolean;
}

/** What the checks need beyond the facts: the known keys and the virtual-card judge. */
export interface CheckEnv {
  /** True when the text holds a key the harness knows (hex in any spelling, base64, base64url). */
  hasKeyMaterial(text: string): boolean;
  /** null when a virtual card holding `key` accepts the response to `challenge`, else why not. */
  judge(card: ModelCard, key: Buffer, challenge: Buffer, response: Extract<Answer, { status: number }>, diversified: boolean): string | null;
  /** A diversified=true 200 for a card whose diversified key is not known yet: judged once it is. */
  defer(card: ModelCard, challenge: Buffer, response: Extract<Answer, { status: number }>): void;
}

const ASKS: ReadonlySet<Endpoint> = new Set(['authenticationresponse', 'diversifiedkey']);

/** The broken invariants of one step, in INVARIANTS order. */
export function checkStep(s: StepFacts, env: CheckEnv): Break[] {
  const out: Break[] = [];
  const add = (invariant: InvariantId, message: string): void => {
    out.push({ invariant, step: s.step, message });
  };
  const a = s.answer;
  if ('error' in a) {
    add('fuzz.no-server-error', `no answer: ${a.error}`);
    return out;
  }
  if (a.status >= 500) add('fuzz.no-server-error', `${s.endpoint} answered ${a.status}${bodyUnlessKey(s, a.body)}`);
  if (a.status >= 400) {
    const leak = findLeak(a.body);
    if (leak) add('fuzz.no-internals', `the ${a.status} body shows ${leak}`);
  }

  const ask = s.ask;
  const wellFormed = ask ? ask.wellFormed : s.wellFormed !== false;
  if (withoutRights(s.caller, s.endpoint)) {
    const refused = a.status === 401 || a.status === 403 || (!wellFormed && a.status >= 400 && a.status < 500);
    // A 5xx hands out nothing either: it is fuzz.no-server-error's.
    if (!refused && a.status < 500) {
      const allowed = wellFormed ? '401 or 403' : '401, 403 or another 4xx for a malformed request';
      add('fuzz.rights-enforced', `${describeCaller(s.caller)} got ${a.status} from ${s.endpoint}${bodyUnlessKey(s, a.body)}, expected ${allowed}`);
    }
  }

  if (ask && a.status === 200) {
    const what = s.endpoint === 'diversifiedkey' ? 'a key' : 'a response';
    if ('mismatch' in ask.target) add('fuzz.ids-enforced', `${s.endpoint} answered 200 (${what}) although ${ask.target.mismatch}`);
    if (ask.missing.length > 0) add('fuzz.params-required', `${s.endpoint} answered 200 (${what}) without ${ask.missing.join(' and ')}`);
  }

  const keyAnswerAllowed = s.endpoint === 'diversifiedkey' && s.caller.kind === 'rights' && a.status === 200;
  if (!keyAnswerAllowed) {
    const answerText = `${a.body}\n${Object.values(a.headers).join('\n')}`;
    // A value we sent that happens to spell a key (an echo) is not a leak.
    if (env.hasKeyMaterial(answerText) && !env.hasKeyMaterial(`${s.sent.url}\n${decoded(s.sent.url)}\n${s.sent.body ?? ''}`)) {
      add(
        'fuzz.no-key-material',
        `the ${a.status} answer of ${s.endpoint} to ${describeCaller(s.caller)} carries key material the harness knows (body or a header; not shown)`,
      );
    }
  }

  if (ask && a.status === 200 && !('mismatch' in ask.target)) {
    const { card, request } = ask.target;
    const what = s.endpoint === 'diversifiedkey' ? 'a key' : 'a response';
    if (
      s.endpoint === 'authenticationresponse' &&
      ask.challenge &&
      (ask.challenge.kind === 'valid' || ask.challenge.kind === 'lenient') &&
      typeof ask.diversified === 'boolean'
    ) {
      const key = ask.diversified ? card.diversifiedKey : card.adminKey;
      if (key) {
        const problem = env.judge(card, key, ask.challenge.bytes, a, ask.diversified);
        if (problem) add('fuzz.cryptogram-verifies', `${card.label}, ${ask.challenge.bytes.length}-byte challenge, diversified=${ask.diversified}: ${problem}`);
      } else {
        env.defer(card, ask.challenge.bytes, a);
      }
    }
    if (request.status !== 'open' && request.status !== 'uncertain')
      add('fuzz.closed-request-silent', `${s.endpoint} answered 200 (${what}) for ${card.label} under ${request.label}, which is ${request.status}`);
    if (card.status === 'Retired') add('fuzz.retired-card-silent', `${s.endpoint} answered 200 (${what}) for ${card.label}, which is Retired`);
  }

  if (ask && a.status === 200) {
    const bad: string[] = [];
    if (ask.challenge?.kind === 'invalid') bad.push(`a challenge no card issues (${ask.challenge.why})`);
    if (ask.diversified === 'invalid') bad.push('a diversified value that is not true or false');
    if (ask.badAtr) bad.push('an atr that is not an ATR');
    if (bad.length > 0) add('fuzz.bad-input-refused', `${s.endpoint} answered 200 to ${bad.join(' and ')}`);
  }
  return sortByCatalogue(out);
}

/** The forbidden caller lacks rights for responses and keys; anonymous and made-up callers for everything. */
export function withoutRights(caller: CallerChoice, endpoint: Endpoint): boolean {
  if (caller.kind === 'anonymous' || caller.kind === 'garbage') return true;
  return caller.kind === 'forbidden' && ASKS.has(endpoint);
}

/** A diversifiedkey body may be a key: never quoted. */
function bodyUnlessKey(s: StepFacts, body: string): string {
  return s.endpoint === 'diversifiedkey' ? ' (body not shown: it may hold a key)' : bodySnippet(body);
}

/** The URL as the server reads it (percent-escapes decoded), to recognise an echo. */
function decoded(url: string): string {
  try {
    return decodeURIComponent(url);
  } catch {
    return url;
  }
}

const ORDER = new Map(INVARIANTS.map((inv, i) => [inv.id, i]));

function sortByCatalogue(breaks: Break[]): Break[] {
  return breaks.sort((x, y) => ORDER.get(x.invariant)! - ORDER.get(y.invariant)!);
}
