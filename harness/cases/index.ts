/**
 * The catalogue, in run order: MUST cases first, then SHOULD, then MAY. SPEC.md section 5
 * lists the minimum; `query.atr`, `diversifiedkey.auth` and `errors.json-body` are ours
 * (see README, "Choices we made where the spec is silent").
 */
import { authAnonymous, authForbidden, diversifiedKeyAuth } from './auth.js';
import { diversifiedKeyConsistent } from './diversifiedkey.js';
import { errorsJsonBody, errorsNoLeak, inputMalformedChallenge, methodNotAllowed } from './errors.js';
import { exampleDocumented } from './example.js';
import { exchangeEnrollDiversify, exchangeUnlock } from './exchange.js';
import { idsCardidMismatch, idsRequestMismatch, idsUnknown } from './ids.js';
import { paramsRequired, pathCaseInsensitive, queryAtr, queryBooleanSpelling, queryEncoding } from './query.js';
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
