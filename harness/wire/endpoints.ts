/**
 * Every CM endpoint cmcard calls, as paths and queries: the conformance client, the load
 * transport and the copyable curl reproductions build them here and nowhere else. Also
 * which endpoints answer with key material, for the redaction policy.
 */
import { toBase64 } from '../../simulator/bytes.js';
import { CM_BASE_PATH } from '../../simulator/cm-api.js';

export const DEFAULT_BASE_PATH = CM_BASE_PATH;

/** `/CertificateManagement/api/v1.0/` -> `/CertificateManagement/api/v1.0`; `` stays `` (a server at the root). */
export function normaliseBasePath(basePath: string): string {
  const trimmed = basePath.replace(/\/+$/, '');
  if (trimmed === '') return '';
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

/** One path segment: ids are percent-encoded so an odd id cannot change the path. */
export function seg(id: string): string {
  return encodeURIComponent(id);
}

/** `k=v&...` with undefined values left out. encodeURIComponent also encodes `+ / =`, which a challenge must have encoded. */
export function buildQuery(pairs: ReadonlyArray<readonly [string, string | undefined]>): string {
  return pairs
    .filter((p): p is readonly [string, string] => p[1] !== undefined)
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
    .join('&');
}

export interface CardIds {
  reqid: string;
  scid: string;
}

/** `{base}/requests/{reqid}/smartcards/{scid}` */
export function cardPath(base: string, ids: CardIds): string {
  return `${base}/requests/${seg(ids.reqid)}/smartcards/${seg(ids.scid)}`;
}

/** How `diversified` is spelled: the documentation writes `False`/`True`. */
export function diversifiedParam(value: boolean | string | undefined): string | undefined {
  return typeof value === 'boolean' ? (value ? 'True' : 'False') : value;
}

export interface AuthResponseQuery {
  /** Omitted from the query when undefined. */
  cardid?: string;
  /** Bytes -> standard base64; a string is sent as given (percent-encoded). Omitted when undefined. */
  challenge?: Uint8Array | string;
  /** Boolean -> 'False'/'True'; a string as given. Omitted when undefined. */
  diversified?: boolean | string;
  atr?: string;
}

/** The query of authenticationresponse, in the documented order: cardid, challenge, diversified (then atr). */
export function authResponseQuery(q: AuthResponseQuery): string {
  const challenge = q.challenge === undefined ? undefined : typeof q.challenge === 'string' ? q.challenge : toBase64(q.challenge);
  return buildQuery([
    ['cardid', q.cardid],
    ['challenge', challenge],
    ['diversified', diversifiedParam(q.diversified)],
    ['atr', q.atr],
  ]);
}

/** `GET {base}/requests/{reqid}/smartcards/{scid}/authenticationresponse?cardid&challenge&diversified[&atr]` */
export function authResponsePath(base: string, ids: CardIds, q: AuthResponseQuery): string {
  return withQuery(`${cardPath(base, ids)}/authenticationresponse`, authResponseQuery(q));
}

/**
 * The fixed parts around the challenge of one card's authenticationresponse request, so
 * the load loop appends only the encoded challenge per exchange:
 * `prefix + encodeURIComponent(base64(challenge)) + suffix`.
 */
export function authResponseTemplate(base: string, ids: CardIds & { cardid: string; atr?: string }, diversified: boolean): { prefix: string; suffix: string } {
  const marker = 'CHALLENGE';
  const path = authResponsePath(base, ids, { cardid: ids.cardid, challenge: marker, diversified, ...(ids.atr ? { atr: ids.atr } : {}) });
  const at = path.indexOf(`challenge=${marker}`) + 'challenge='.length;
  return { prefix: path.slice(0, at), suffix: path.slice(at + marker.length) };
}

/** `GET {base}/requests/{reqid}/smartcards/{scid}/diversifiedkey?cardid` */
export function diversifiedKeyPath(base: string, ids: CardIds, cardid?: string): string {
  return withQuery(`${cardPath(base, ids)}/diversifiedkey`, buildQuery([['cardid', cardid]]));
}

export function profileTemplatesPath(base: string): string {
  return `${base}/profiletemplates`;
}

/** Its body carries the template's default admin key. */
export function smartcardConfigurationPath(base: string, profileTemplateId: string): string {
  return `${base}/profiletemplates/${seg(profileTemplateId)}/configuration/smartcards`;
}

export function requestsPath(base: string, id?: string): string {
  return id === undefined ? `${base}/requests` : `${base}/requests/${seg(id)}`;
}

export function smartcardsPath(base: string, id?: string): string {
  return id === undefined ? `${base}/smartcards` : `${base}/smartcards/${seg(id)}`;
}

export function findSmartcardsPath(base: string, cardid: string): string {
  return withQuery(`${base}/smartcards`, buildQuery([['cardid', cardid]]));
}

function withQuery(path: string, query: string): string {
  return query ? `${path}?${query}` : path;
}

/**
 * Endpoints whose successful answer IS key material: the diversifiedkey endpoint (a card's
 * admin key) and a template's smart card configuration (its default admin key). Their
 * bodies never go into a report, whatever the status.
 */
const KEY_MATERIAL_ENDPOINTS: readonly RegExp[] = [/\/smartcards\/[^/?#]+\/diversifiedkey(?:[/?#]|$)/i, /\/configuration\/smartcards(?:[/?#]|$)/i];

export function carriesKeyMaterial(urlOrPath: string): boolean {
  return KEY_MATERIAL_ENDPOINTS.some((re) => re.test(urlOrPath));
}
