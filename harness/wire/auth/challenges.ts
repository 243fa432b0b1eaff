/**
 * `WWW-Authenticate` values read as RFC 9110 challenges: a scheme and either one token68
 * (a Negotiate or NTLM blob) or auth-params (`Bearer realm="x", error="invalid_token"`).
 * One header value may hold several challenges (`Negotiate, NTLM`), and a server may send
 * several headers; both forms give the same list.
 */

export interface Challenge {
  /** As the server spelled it; compare case-insensitively. */
  scheme: string;
  /** The blob after the scheme, when the challenge carries one. */
  token?: string;
  /** Auth-params, names lower-case. */
  params: Record<string, string>;
}

const TCHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;
const TOKEN68 = /[A-Za-z0-9\-._~+/]/;

export function parseChallenges(values: readonly string[]): Challenge[] {
  const out: Challenge[] = [];
  for (const value of values) parseOne(value, out);
  return out;
}

function parseOne(s: string, out: Challenge[]): void {
  let i = 0;
  const skip = (chars: RegExp): void => {
    while (i < s.length && chars.test(s[i]!)) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < s.length && TCHAR.test(s[i]!)) i++;
    return s.slice(start, i);
  };
  /** After a comma: does a new challenge (a scheme not followed by `=`) start at i? */
  const challengeStartsAt = (at: number): boolean => {
    let j = at;
    while (j < s.length && /[ \t,]/.test(s[j]!)) j++;
    const start = j;
    while (j < s.length && TCHAR.test(s[j]!)) j++;
    if (j === start) return false;
    while (j < s.length && /[ \t]/.test(s[j]!)) j++;
    return s[j] !== '=';
  };
  while (i < s.length) {
    skip(/[ \t,]/);
    const scheme = token();
    if (!scheme) {
      i++;
      continue;
    }
    const challenge: Challenge = { scheme, params: {} };
    out.push(challenge);
    skip(/[ \t]/);
    // token68: a run of token68 characters, then '='s, then the end or a comma.
    let j = i;
    while (j < s.length && TOKEN68.test(s[j]!)) j++;
    const runEnd = j;
    while (j < s.length && s[j] === '=') j++;
    let k = j;
    while (k < s.length && /[ \t]/.test(s[k]!)) k++;
    if (runEnd > i && (k >= s.length || s[k] === ',')) {
      challenge.token = s.slice(i, j);
      i = k;
      continue;
    }
    // auth-params until the next challenge.
    while (i < s.length && s[i] !== ',') {
      const name = token().toLowerCase();
      skip(/[ \t]/);
      if (!name || s[i] !== '=') break;
      i++;
      skip(/[ \t]/);
      let v = '';
      if (s[i] === '"') {
        i++;
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length) i++;
          v += s[i];
          i++;
        }
        i++;
      } else {
        v = token();
      }
      challenge.params[name] = v;
      skip(/[ \t]/);
      if (s[i] === ',' && !challengeStartsAt(i + 1)) {
        i++;
        skip(/[ \t]/);
      }
    }
  }
}

/** The first challenge of `scheme` (case-insensitive), if the server offered it. */
export function findChallenge(challenges: readonly Challenge[], scheme: string): Challenge | undefined {
  return challenges.find((c) => c.scheme.toLowerCase() === scheme.toLowerCase());
}

/** The schemes offered, in the server's order, without repeats (`['Negotiate', 'NTLM']`). */
export function offeredSchemes(challenges: readonly Challenge[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const c of challenges) {
    const key = c.scheme.toLowerCase();
    if (!seen.has(key)) {
      seen.add(key);
      out.push(c.scheme);
    }
  }
  return out;
}
