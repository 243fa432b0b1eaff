/**
 * One full help-desk unlock, as `exchange.unlock` checks it and `cmcard unlock` shows it:
 * the user's PIN is blocked, the card shows a challenge as Windows' unblock screen does,
 * the server answers, the card unblocks with a new PIN, the new PIN verifies and the
 * counters are back. With `lifecycle`, an Unblock request is created through the API
 * first and completed afterwards.
 */
import type { VirtualCard } from '../simulator/card.js';
import { toBase64, toWindowsDisplay } from '../simulator/bytes.js';
import { idFromUri } from './wire/decode.js';
import { type CmClient, type CmResponse } from './wire/cm-client.js';
import { NAME_ONLY, type Redactor } from './redact.js';
import type { CardConfig } from './config.js';
import { oneLine } from './one-line.js';
import { isSuccess } from './cases/helpers.js';
import { bodySnippet, judge, type OtherKey } from './cases/cryptogram.js';

export interface UnlockStep {
  title: string;
  detail: string;
}

export interface UnlockOptions {
  client: CmClient;
  card: CardConfig;
  /** The admin key the card holds now. */
  key: Buffer;
  /** Ask the server for the diversified key's response (the card was switched to it at enrollment). */
  diversified: boolean;
  /** Create the Unblock request through the API and complete it afterwards. */
  lifecycle: boolean;
  virtualCard: (card: CardConfig, key: Buffer, options?: { pin?: string }) => VirtualCard;
  /** Other keys the server might wrongly have used, for the diagnosis. */
  otherKeys?: OtherKey[];
  onStep?: (step: UnlockStep) => void;
  /** Masks credentials and keys in bodies a failure quotes (before they are cut). */
  redactor?: Redactor;
}

export interface UnlockResult {
  ok: boolean;
  /** The failure, one line; absent when ok. */
  failure?: string;
  /** The answer the unlock failed on, and the cause in words that do not depend on the challenge. */
  failedOn?: { response: CmResponse; cause: string };
  steps: UnlockStep[];
}

const OLD_PIN = '2468';
const NEW_PIN = '975310';

export async function playUnlock(o: UnlockOptions): Promise<UnlockResult> {
  const steps: UnlockStep[] = [];
  const step = (title: string, detail: string): void => {
    const s = { title, detail };
    steps.push(s);
    o.onStep?.(s);
  };
  const redactor = o.redactor ?? NAME_ONLY;
  const failed = (failure: string, response?: CmResponse, cause?: string): UnlockResult => ({
    ok: false,
    failure,
    steps,
    ...(response ? { failedOn: { response, cause: cause ?? failure } } : {}),
  });

  const card = o.virtualCard(o.card, o.key, { pin: OLD_PIN });
  const limit = card.pinTriesLeft;
  const adminLimit = card.adminTriesLeft;
  for (let i = 0; i < limit && !card.pinBlocked; i++) card.verifyPin('0000');
  if (!card.pinBlocked) return failed('the virtual card did not block its PIN after wrong PINs');
  step('PIN blocked', `card ${o.card.name} (cardid ${o.card.cardid}): ${limit} wrong PINs typed, the PIN is blocked`);

  let reqid = o.card.reqid;
  if (o.lifecycle) {
    const created = await o.client.createRequest({ type: 'Unblock', smartcard: o.card.scid, comment: 'cmcard conformance unlock' });
    if (created.status !== 201 && created.status !== 200) {
      return failed(
        `POST /requests (type Unblock) answered ${created.status}${bodySnippet(created.body, redactor)}`,
        created,
        `creating the Unblock request answered ${created.status}`,
      );
    }
    try {
      reqid = idFromUri(created.body);
    } catch (err) {
      return failed(`POST /requests (type Unblock): ${(err as Error).message}`, created, 'the created request is not a URI');
    }
    step('Unblock request created', `request ${reqid} for smart card ${o.card.scid}`);
  }

  const challenge = card.getChallenge();
  step('challenge', `the unblock screen shows ${toWindowsDisplay(challenge)} (base64 ${toBase64(challenge)})`);

  const res = await o.client.authenticationResponse({
    reqid,
    scid: o.card.scid,
    cardid: o.card.cardid,
    challenge,
    diversified: o.diversified,
    ...(o.card.atr ? { atr: o.card.atr } : {}),
  });
  step('server response', `HTTP ${res.status} ${oneLine(res.body)}`);

  // The card checks the response as part of the unblock (CardUnblockPin with challenge/response).
  // The card owns the unblock: admin authentication, RESET RETRY COUNTER and logout in one operation.
  const problem = judge(card, o.key, challenge, res, o.otherKeys ?? [], redactor, (response) => card.unblockPin(response, NEW_PIN));
  if (problem) return failed(`${o.diversified ? 'diversified=True' : 'diversified=False'}: ${problem.problem}`, res, problem.cause);
  step('card verdict', `response accepted, PIN unblocked and replaced`);

  const verify = card.verifyPin(NEW_PIN);
  if (!verify.ok) return failed(`the new PIN does not verify: ${verify.message}`);
  if (card.pinTriesLeft !== limit) return failed(`PIN retry counter is ${card.pinTriesLeft}, expected ${limit} after the unblock`);
  if (card.adminTriesLeft !== adminLimit) return failed(`admin retry counter is ${card.adminTriesLeft}, expected ${adminLimit}`);
  step(
    'new PIN verified',
    `PIN tries back to ${card.pinTriesLeft}/${limit}, admin tries ${adminLimit === null ? 'unlimited' : `${card.adminTriesLeft}/${adminLimit}`}`,
  );

  if (o.lifecycle) {
    const done = await o.client.updateRequest(reqid, 'Completed');
    if (!isSuccess(done.status))
      return failed(
        `PUT /requests/${reqid} Completed answered ${done.status}${bodySnippet(done.body, redactor)}`,
        done,
        `completing the request answered ${done.status}`,
      );
    step('request completed', `request ${reqid} marked Completed (HTTP ${done.status})`);
  }
  return { ok: true, steps };
}
