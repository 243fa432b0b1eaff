/**
 * The one place that decides what a credential looks like in our output (SPEC.md section 6).
 * Values first: every value of the config's `headers` and `forbiddenHeaders` (after
 * `${ENV}` expansion) is masked wherever it shows up, in headers, URLs, bodies and
 * messages, whatever the header is called (`X-CM-Auth`, `Ocp-Apim-Subscription-Key`...).
 * Header names are the fallback for credentials the config does not know (a cookie the
 * server sets, a reporter fed a hand-made report).
 */
import type { RecordedExchange } from './events.js';

export const REDACTED = '[redacted]';

const SECRET_HEADERS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']);
/** Any name that mentions a credential: X-Api-Key, X-Auth-Token, Ocp-Apim-Subscription-Key, X-CM-Auth... */
const SECRET_HEADER_PATTERN = /auth|token|secret|password|passwd|api-?key|subscription-key|session|signature|credential/i;
/** `Bearer abc`: the scheme says what was sent without saying the credential. */
const SCHEME = /^([A-Za-z][\w-]*)\s+\S/;
/** Shorter values are not masked inside text (a header `X-Flag: 1` must not blank every 1); they are still masked as header values. */
const MIN_TEXT_SECRET = 4;

export function isSecretHeaderName(name: string): boolean {
  return SECRET_HEADERS.has(name.toLowerCase()) || SECRET_HEADER_PATTERN.test(name);
}

export class Redactor {
  /** Longest first, so `Bearer abc123` is masked whole before `abc123` alone. */
  private readonly secrets: string[];
  private readonly values: ReadonlySet<string>;

  constructor(private readonly given: readonly string[] = []) {
    const secretValues = given;
    const all = new Set<string>();
    const values = new Set<string>();
    for (const raw of secretValues) {
      const value = raw.trim();
      if (value === '') continue;
      values.add(value);
      all.add(value);
      // The credential alone, as a server might echo it without its scheme.
      const scheme = SCHEME.exec(value);
      if (scheme) all.add(value.slice(scheme[0].length - 1).trim());
    }
    this.secrets = [...all].filter((s) => s.length >= MIN_TEXT_SECRET).sort((a, b) => b.length - a.length);
    this.values = values;
  }

  /** The credential values of a harness config: its headers and forbiddenHeaders. */
  static forHeaders(...maps: Array<Record<string, string> | undefined>): Redactor {
    return new Redactor(maps.flatMap((m) => Object.values(m ?? {})));
  }

  /** This redactor plus more secret values. */
  with(values: readonly string[]): Redactor {
    return values.every((v) => this.values.has(v.trim())) ? this : new Redactor([...this.given, ...values]);
  }

  /** Every known secret in `text` replaced by [redacted] (also their percent-encoded form, as in a URL). */
  text(text: string): string {
    let out = text;
    for (const s of this.secrets) {
      out = out.split(s).join(REDACTED);
      const encoded = encodeURIComponent(s);
      if (encoded !== s) out = out.split(encoded).join(REDACTED);
    }
    return out;
  }

  /** A credential header keeps its scheme (`Bearer [redacted]`); other values have known secrets masked. */
  headers(headers: Record<string, string>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) {
      if (isSecretHeaderName(name) || this.values.has(value.trim())) {
        const scheme = SCHEME.exec(value);
        out[name] = scheme ? `${scheme[1]} ${REDACTED}` : REDACTED;
      } else {
        out[name] = this.text(value);
      }
    }
    return out;
  }

  exchange(exchange: RecordedExchange): RecordedExchange {
    const request: RecordedExchange['request'] = {
      ...exchange.request,
      url: this.text(exchange.request.url),
      headers: this.headers(exchange.request.headers),
      ...(exchange.request.body !== undefined ? { body: this.text(exchange.request.body) } : {}),
    };
    const out: RecordedExchange = { ...exchange, request };
    if (exchange.response) out.response = { ...exchange.response, headers: this.headers(exchange.response.headers), body: this.text(exchange.response.body) };
    if (exchange.error !== undefined) out.error = this.text(exchange.error);
    return out;
  }
}

/** Name-based only: for output whose config is unknown. */
export const NAME_ONLY = new Redactor();
