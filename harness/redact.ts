/**
 * The one redaction policy: what counts as a secret in cmcard's output, and how it is
 * masked. Every output path (the recording client, the runner's messages, every
 * reporter, `unlock`'s trace, `load`'s lines) goes through a Redactor.
 *
 * Secrets, by value:
 * - credentials: every value of the config's `headers` / `forbiddenHeaders`, the passwords
 *   and client secrets of `auth` / `forbiddenAuth`, and what the mechanisms learn at run
 *   time (access tokens, cookies); masked as given, without their scheme, percent-encoded,
 *   and base64 / base64url encoded;
 * - key material: every admin and diversified key the harness knows, as hex in any case
 *   with any spacing, and as base64 / base64url.
 * By name, for credentials no config knows: Authorization, Cookie, Set-Cookie,
 * WWW-Authenticate tokens and any header whose name mentions a credential.
 * By endpoint: bodies of the endpoints that answer with key material (wire/endpoints.ts).
 *
 * Masking comes before cutting: `cut` redacts the whole text, then shortens it. Where text
 * was already cut elsewhere, a run next to the cut (`...`) that is a long enough prefix or
 * suffix of a secret is masked too.
 */
import type { RecordedExchange } from './events.js';
import { carriesKeyMaterial } from './wire/endpoints.js';

export const REDACTED = '[redacted]';

const SECRET_HEADERS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'www-authenticate', 'proxy-authenticate']);
/** Any name that mentions a credential: X-Api-Key, X-Auth-Token, Ocp-Apim-Subscription-Key, X-CM-Auth... */
const SECRET_HEADER_PATTERN = /auth|token|secret|password|passwd|api-?key|subscription-key|session|signature|credential|cookie/i;
/** `Bearer abc`: the scheme says what was sent without saying the credential. */
const SCHEME = /^([A-Za-z][\w-]*)\s+\S/;
/** Shorter values are not masked inside text (a header `X-Flag: 1` must not blank every 1); they are still masked as header values. */
const MIN_TEXT_SECRET = 4;
/** The shortest piece of a secret masked next to a cut. */
const MIN_PIECE = 6;
/** The marker a cut leaves. */
const CUT = '...';

export function isSecretHeaderName(name: string): boolean {
  return SECRET_HEADERS.has(name.toLowerCase()) || SECRET_HEADER_PATTERN.test(name);
}

/** The forms a credential may take when a server echoes it. */
function credentialForms(value: string): string[] {
  const forms = new Set<string>([value]);
  const scheme = SCHEME.exec(value);
  if (scheme) forms.add(value.slice(scheme[0].length - 1).trim());
  for (const v of [...forms]) {
    forms.add(encodeURIComponent(v));
    const b64 = Buffer.from(v, 'utf8').toString('base64');
    forms.add(b64);
    forms.add(b64.replace(/=+$/, ''));
    forms.add(Buffer.from(v, 'utf8').toString('base64url'));
  }
  return [...forms];
}

/** A key as hex in any case, with any spacing or separators between the digits. */
function hexPattern(key: Buffer): RegExp {
  const digits = key.toString('hex').split('');
  return new RegExp(digits.join('[\\s:.-]*'), 'gi');
}

/** The byte strings a key may be echoed as: itself, and a 2-key key in its 24-byte form. */
function keyVariants(key: Buffer): Buffer[] {
  return key.length === 16 ? [key, Buffer.concat([key, key.subarray(0, 8)])] : [key];
}

/** Hex digits in `text`, counted up to `enough`. */
function hexDigitCount(text: string, enough: number): number {
  let n = 0;
  for (let i = 0; i < text.length && n < enough; i++) {
    const c = text.charCodeAt(i) | 0x20; // folds A-F onto a-f (and leaves digits as they are)
    if ((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66)) n++;
  }
  return n;
}

export class Redactor {
  /** Longest first, so `Bearer abc123` is masked whole before `abc123` alone. */
  private secrets: string[] = [];
  private readonly values = new Set<string>();
  private readonly keyHex = new Set<string>();
  private hexPatterns: RegExp[] = [];
  /** The fewest hex digits a known key is written with: text with fewer holds none of them. */
  private minKeyDigits = Infinity;

  constructor(credentials: readonly string[] = [], keys: readonly Buffer[] = []) {
    this.add(credentials);
    this.addKeys(keys);
  }

  /** The credential values of fixed header maps (the config's headers and forbiddenHeaders). */
  static forHeaders(...maps: Array<Record<string, string> | undefined>): Redactor {
    return new Redactor(maps.flatMap((m) => Object.values(m ?? {})));
  }

  /** Learns more credential values (a password, a token a mechanism just fetched): masked from now on. */
  add(values: readonly string[]): this {
    let changed = false;
    for (const raw of values) {
      const value = raw.trim();
      if (value === '' || this.values.has(value)) continue;
      this.values.add(value);
      changed = true;
    }
    if (changed) this.rebuild();
    return this;
  }

  /** Learns key material (admin and diversified keys): masked as hex in any spelling, base64 and base64url. */
  addKeys(keys: readonly Buffer[]): this {
    let changed = false;
    for (const key of keys) {
      for (const k of keyVariants(key)) {
        const hex = k.toString('hex');
        if (this.keyHex.has(hex)) continue;
        this.keyHex.add(hex);
        changed = true;
      }
    }
    if (changed) this.rebuild();
    return this;
  }

  /** A copy of this redactor plus more credential values (per-request headers). */
  with(values: readonly string[]): Redactor {
    if (values.every((v) => v.trim() === '' || this.values.has(v.trim()))) return this;
    const copy = new Redactor(
      [...this.values],
      [...this.keyHex].map((h) => Buffer.from(h, 'hex')),
    );
    return copy.add(values);
  }

  private rebuild(): void {
    const all = new Set<string>();
    for (const v of this.values) for (const form of credentialForms(v)) all.add(form);
    for (const hex of this.keyHex) {
      const key = Buffer.from(hex, 'hex');
      all.add(key.toString('base64'));
      all.add(key.toString('base64').replace(/=+$/, ''));
      all.add(key.toString('base64url'));
    }
    this.secrets = [...all].filter((s) => s.length >= MIN_TEXT_SECRET).sort((a, b) => b.length - a.length);
    this.hexPatterns = [...this.keyHex].map((hex) => hexPattern(Buffer.from(hex, 'hex')));
    this.minKeyDigits = Math.min(...[...this.keyHex].map((hex) => hex.length));
  }

  /** Every known secret in `text` replaced by [redacted], whole or as a piece next to a cut. */
  text(text: string): string {
    let out = text;
    // Most text (a status, a date, a short body) has too few hex digits to spell any key.
    if (this.hexPatterns.length > 0 && hexDigitCount(out, this.minKeyDigits) >= this.minKeyDigits) {
      for (const re of this.hexPatterns) out = out.replace(re, REDACTED);
    }
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join(REDACTED);
    if (out.includes(CUT)) out = this.maskPiecesAtCuts(out);
    return out;
  }

  /** Redacts, then shortens to `max` characters: a secret is never cut in two before it is masked. */
  cut(text: string, max: number): string {
    const masked = this.text(text);
    return masked.length > max ? `${masked.slice(0, Math.max(0, max - CUT.length))}${CUT}` : masked;
  }

  /** A prefix of a secret just before a `...`, or a suffix just after one. */
  private maskPiecesAtCuts(text: string): string {
    const pieces = [...this.secrets, ...this.keyHex];
    let out = text;
    for (const s of pieces) {
      const min = MIN_PIECE;
      for (let k = s.length - 1; k >= min; k--) {
        const prefix = s.slice(0, k);
        if (out.includes(prefix + CUT)) out = out.split(prefix + CUT).join(REDACTED + CUT);
        const suffix = s.slice(s.length - k);
        if (out.includes(CUT + suffix)) out = out.split(CUT + suffix).join(CUT + REDACTED);
      }
    }
    return out;
  }

  /** A credential header keeps its scheme (`Bearer [redacted]`); other values have known secrets masked. */
  headers(headers: Record<string, string>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) {
      if (isSecretHeaderName(name) || this.values.has(value.trim())) out[name] = maskHeaderValue(value);
      else out[name] = this.text(value);
    }
    return out;
  }

  exchange(exchange: RecordedExchange): RecordedExchange {
    const request: RecordedExchange['request'] = {
      ...exchange.request,
      url: redactUrl(this.text(exchange.request.url)),
      headers: this.headers(exchange.request.headers),
      ...(exchange.request.body !== undefined ? { body: this.text(exchange.request.body) } : {}),
    };
    const out: RecordedExchange = { ...exchange, request };
    if (exchange.response) {
      const keyBody = carriesKeyMaterial(exchange.request.url) && exchange.response.body !== '' && !exchange.response.body.startsWith(REDACTED);
      out.response = {
        ...exchange.response,
        headers: this.headers(exchange.response.headers),
        body: keyBody ? `${REDACTED} (may hold key material, ${exchange.response.body.length} characters)` : this.text(exchange.response.body),
      };
    }
    if (exchange.error !== undefined) out.error = this.text(exchange.error);
    return out;
  }
}

/** Scheme names alone say nothing secret (`WWW-Authenticate: Negotiate`). */
const AUTH_SCHEMES = new Set(['negotiate', 'ntlm', 'bearer', 'basic', 'digest', 'kerberos']);

/** `Negotiate abc, NTLM def` -> `Negotiate [redacted], NTLM [redacted]`; a bare scheme (`Negotiate`) stays. */
function maskHeaderValue(value: string): string {
  return value
    .split(/,\s*(?=[A-Za-z][\w-]*(?:\s|$))/)
    .map((part) => {
      const scheme = SCHEME.exec(part);
      if (scheme) return `${scheme[1]} ${REDACTED}`;
      return AUTH_SCHEMES.has(part.trim().toLowerCase()) ? part.trim() : REDACTED;
    })
    .join(', ');
}

/** Drops a password from `scheme://user:password@host` (a server URL given on the command line). */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*):[^/?#@]*@/i, `$1:${REDACTED}@`);
}

/** Name- and endpoint-based only: for output whose config is unknown (a reporter's safety net). */
export const NAME_ONLY = new Redactor();
