/**
 * NTLMv2 with explicit credentials, for callers outside the domain (a Linux CI runner):
 * the three-message handshake (NEGOTIATE, CHALLENGE, AUTHENTICATE) on the one connection
 * it is given, which the server then keeps authenticated. The messages come from
 * httpntlm's codec (pinned): it writes the Version field that strict servers require and
 * brings its own MD4, which Node's OpenSSL 3 refuses.
 *
 * The scheme follows the server: `NTLM` when it offers NTLM, the raw NTLM messages inside
 * `Negotiate` when it offers only Negotiate (as IIS does with the Negotiate provider alone).
 */
import { createRequire } from 'node:module';
import type * as Codec from 'httpntlm/ntlm.js';
import { findChallenge, parseChallenges, type Challenge } from './challenges.js';
import { withHeaders } from './headers.js';
import { AuthFailure, type AuthContext, type Authenticator, type ConnectionSend, type WireRequest, type WireResponse } from './types.js';

export type NtlmScheme = 'NTLM' | 'Negotiate';

// Loaded on the first handshake: a run without NTLM never pays for the codec and its MD4.
let loaded: typeof Codec | undefined;
const codec = (): typeof Codec => (loaded ??= createRequire(import.meta.url)('httpntlm/ntlm.js') as typeof Codec);

const SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1');
const NEGOTIATE_EXTENDED_SESSIONSECURITY = 0x00080000;

/** The scheme to carry NTLM in, given what the server offered: NTLM first, else Negotiate; null when it offers neither. */
export function chooseNtlmScheme(challenges: readonly Challenge[]): NtlmScheme | null {
  if (findChallenge(challenges, 'NTLM')) return 'NTLM';
  if (findChallenge(challenges, 'Negotiate')) return 'Negotiate';
  return null;
}

/** Reads the server's CHALLENGE_MESSAGE; refuses one that would make us answer with NTLMv1. */
export function readChallenge(token: string, scheme: NtlmScheme): Codec.Type2Message {
  const raw = Buffer.from(token, 'base64');
  if (!raw.subarray(0, 8).equals(SIGNATURE)) {
    throw new AuthFailure(
      'handshake',
      `ntlm: the server's ${scheme} challenge is not a raw NTLM message${scheme === 'Negotiate' ? ' (it may be wrapped in SPNEGO, which this client does not unwrap)' : ''}`,
    );
  }
  let problem: string | undefined;
  let msg: Codec.Type2Message | null = null;
  try {
    msg = codec().parseType2Message(`NTLM ${token}`, (err) => {
      problem = err.message;
    });
  } catch (err) {
    problem = err instanceof Error ? err.message : String(err);
  }
  if (!msg) throw new AuthFailure('handshake', `ntlm: the server's challenge message could not be read (${problem ?? 'malformed'})`);
  if (!(msg.negotiateFlags & NEGOTIATE_EXTENDED_SESSIONSECURITY) || !msg.targetInfo || msg.targetInfo.length === 0) {
    throw new AuthFailure(
      'handshake',
      'ntlm: the server offers only NTLMv1 (no extended session security or target info in its challenge); cmcard answers with NTLMv2 only',
    );
  }
  return msg;
}

export interface NtlmDeps {
  /** Start with this scheme instead of NTLM (the server's offer still decides after a refusal). */
  scheme?: NtlmScheme;
}

export function createNtlmAuthenticator(
  config: { username: string; password: string; domain?: string; workstation?: string },
  ctx: Pick<AuthContext, 'onSecret'>,
  deps: NtlmDeps = {},
): Authenticator {
  ctx.onSecret(config.password);
  const domain = config.domain ?? '';
  const workstation = config.workstation ?? '';
  // What the server took last time, so later connections skip a refused first leg.
  let learned: NtlmScheme = deps.scheme ?? 'NTLM';
  return {
    type: 'ntlm',
    binding: 'connection',
    async send(req: WireRequest, send: ConnectionSend): Promise<WireResponse> {
      let scheme = learned;
      for (let attempt = 0; ; attempt++) {
        const negotiate = codec()
          .createType1Message({ domain, workstation })
          .replace(/^NTLM /, '');
        const first = await send({ ...req, headers: withHeaders(req.headers, { Authorization: `${scheme} ${negotiate}` }) });
        if (first.status !== 401) return first;
        const challenges = parseChallenges(first.multi['www-authenticate'] ?? []);
        const token = findChallenge(challenges, scheme)?.token;
        if (!token) {
          const offered = chooseNtlmScheme(challenges);
          // The server does not do NTLM at all: its answer is for the first-minute check to explain.
          if (offered === null) return first;
          if (offered !== scheme && attempt === 0) {
            scheme = offered;
            continue;
          }
          throw new AuthFailure('handshake', `ntlm: the server answered the NTLM negotiate message with 401 and no ${scheme} challenge`);
        }
        const challenge = readChallenge(token, scheme);
        const authenticate = codec()
          .createType3Message(challenge, { username: config.username, password: config.password, domain, workstation })
          .replace(/^NTLM /, '');
        learned = scheme;
        return send({ ...req, headers: withHeaders(req.headers, { Authorization: `${scheme} ${authenticate}` }) });
      }
    },
  };
}
