/**
 * The catalogue, in run order: MUST cases first, then SHOULD, then MAY. Each case lives in
 * the file named for its id's group (`path.case-insensitive` in path.ts). docs/cases.md
 * says what each checks and why.
 */
import { authAnonymous, authForbidden } from './auth.js';
import { diversifiedKeyAuth, diversifiedKeyConsistent } from './diversifiedkey.js';
import { errorsJsonBody, errorsNoLeak } from './errors.js';
import { inputMalformedChallenge } from './input.js';
import { methodNotAllowed } from './method.js';
import { paramsRequired } from './params.js';
import { pathCaseInsensitive } from './path.js';
import { exampleDocumented } from './example.js';
import { exchangeEnrollDiversify, exchangeUnlock } from './exchange.js';
import { idsCardidMismatch, idsRequestMismatch, idsUnknown } from './ids.js';
import { queryAtr, queryBooleanSpelling, queryEncoding } from './query.js';
import { responseCorrect, responseDeterministic, responseDiversified, responseFormat, responseMultiBlock } from './response.js';
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
  diversifiedKeyAuth,
  idsUnknown,
  exchangeUnlock,
  exchangeEnrollDiversify,
  diversifiedKeyConsistent,
  // SHOULD
  inputMalformedChallenge,
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

export type { CaseContext, ConformanceCase, Need, Verdict } from './types.js';
export { CaseFailure } from './types.js';
