import { diagnose, type OtherKey } from '../cases/cryptogram.js';
import type { Redactor } from '../redact.js';
import { readBase64String } from '../wire/decode.js';
import type { WrongSample } from './engine.js';

/**
 * The first few wrong cryptograms of a load run in words a server author can act on: which
 * card, its challenge, what came back, and the diagnosis of the conformance judge (which
 * known key or transform reproduces the answer). Runs after the run, on a handful of
 * samples, so the load loop stays lean.
 */

export interface WrongDetail {
  /** The card's name in the config. */
  card: string;
  cardid: string;
  /** Base64, as sent in the query. */
  challenge: string;
  /** The body as received (JSON), cut to 80 characters, secrets masked. */
  response: string;
  diagnosis: string;
  /** The warm-up (not in the counts) or the measured run. */
  phase: 'warmup' | 'run';
  /** ms from the start of its phase. */
  atMs: number;
}

/** A card of the run as the diagnosis needs it. */
export interface JudgedCard {
  name: string;
  cardid: string;
  /** The key the server had to use. */
  key: Buffer;
  /** Keys a server may have used by mistake, named (the other key kind, other cards' keys). */
  others: OtherKey[];
}

export function explainWrong(samples: readonly WrongSample[], phase: WrongDetail['phase'], cards: readonly JudgedCard[], redactor: Redactor): WrongDetail[] {
  return samples.map((s) => {
    const card = cards[s.cardIndex]!;
    let diagnosis: string;
    if (s.response !== null) {
      diagnosis = diagnose(s.response, card.key, s.challenge, card.others);
    } else {
      const read = readBase64String(s.body);
      diagnosis = read.ok ? `the response has ${read.value.length} bytes for a ${s.challenge.length}-byte challenge` : read.problem;
    }
    return {
      card: card.name,
      cardid: card.cardid,
      challenge: s.challenge.toString('base64'),
      response: redactor.cut(s.body, 80),
      diagnosis: redactor.text(diagnosis),
      phase,
      atMs: s.atMs,
    };
  });
}

/**
 * The keys each card's answer is checked against a wrong one: for diversified=False the
 * card's diversified key (when the config holds it) and the other cards' admin keys; for
 * diversified=True the card's admin key (the template's default) and the other cards'
 * diversified keys.
 */
export function othersFor(
  cards: ReadonlyArray<{ name: string; adminKey: Buffer; diversifiedKey?: Buffer | undefined }>,
  index: number,
  diversified: boolean,
): OtherKey[] {
  const me = cards[index]!;
  const out: OtherKey[] = [];
  if (diversified) out.push({ label: "the card's admin key (the template's default key, as for diversified=False)", key: me.adminKey });
  else if (me.diversifiedKey) out.push({ label: "the card's diversified key (as for diversified=True)", key: me.diversifiedKey });
  cards.forEach((c, i) => {
    if (i === index) return;
    const key = diversified ? c.diversifiedKey : c.adminKey;
    if (key && !key.equals(diversified ? (me.diversifiedKey ?? Buffer.alloc(0)) : me.adminKey))
      out.push({ label: `card ${c.name}'s ${diversified ? 'diversified' : 'admin'} key`, key });
  });
  return out;
}
