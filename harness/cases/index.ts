/**
 * The catalogue, in report order: MUST cases first, then SHOULD, then MAY (the runner may
 * run independent cases at the same time; see `schedule`). Each case lives in
 * the file named for its id's group (`path.case-insensitive` in path.ts). docs/cases.md
 * says what each checks and why.
 */
import { authAnonymous, authDuplicate, authForbidden, authInvalid } from './auth.js';
import { concurrency } from './concurrency.js';
import { diversifiedKeyAuth, diversifiedKeyConsistent } from './diversifiedkey.js';
import { errorsJsonBody, errorsNoLeak } from './errors.js';
import { inputHexChallenge, inputMalformedChallenge } from './input.js';
import { methodNotAllowed } from './method.js';
import { paramsRequired } from './params.js';
import { pathCaseInsensitive } from './path.js';
import { exampleDocumented } from './example.js';
import { exchangeEnrollDiversify, exchangeUnlock } from './exchange.js';
import { idsCardidMismatch, idsRequestMismatch, idsUnknown } from './ids.js';
import { queryAtr, queryBooleanSpelling, queryEncoding } from './query.js';
import { responseCorrect, responseDeterministic, responseDiversified, responseFormat, responseMultiBlock } from './response.js';
import { secretsNoLeak } from './secrets.js';
import type { ConformanceCase } from './types.js';

export const CATALOGUE: readonly ConformanceCase[] = [
  // MUST
  exampleDocumented,
  responseCorrect,
  responseDiversified,
  responseFormat,
  pathCaseInsensitive,
  queryBooleanSpelling,
  queryEncoding,
  paramsRequired,
  authForbidden,
  authAnonymous,
  authInvalid,
  diversifiedKeyAuth,
  idsUnknown,
  exchangeUnlock,
  exchangeEnrollDiversify,
  diversifiedKeyConsistent,
  concurrency,
  // Runs after every other case (it reads their answers), whatever its place here.
  secretsNoLeak,
  // SHOULD
  inputMalformedChallenge,
  inputHexChallenge,
  authDuplicate,
  errorsNoLeak,
  errorsJsonBody,
  responseDeterministic,
  idsCardidMismatch,
  idsRequestMismatch,
  queryAtr,
  // MAY
  responseMultiBlock,
  methodNotAllowed,
];

export type { CaseContext, ConformanceCase, Need, RunAnswer, RunView, Schedule, Verdict } from './types.js';
export { CaseFailure, NEED_TEXT } from './types.js';
