/**
 * Negotiate (SPNEGO, Kerberos) through the platform's GSSAPI (Linux, macOS) or SSPI
 * (Windows) with the current user's credentials: a ticket cache, a keytab named by
 * KRB5_CLIENT_KTNAME, or the logged-on Windows user. The native part is the optional
 * `kerberos` package, loaded only when a config asks for negotiate, so installs that
 * never need it never build it.
 *
 * The server's reply token is checked (mutual authentication): a server that cannot
 * prove it holds the SPN's key is refused even when it answers 200.
 */
import { findChallenge, parseChallenges } from './challenges.js';
import { withHeaders } from './headers.js';
import { AuthFailure, type AuthContext, type Authenticator, type ConnectionSend, type WireRequest, type WireResponse } from './types.js';

/** The part of the `kerberos` package we use, typed here because the package may be absent when cmcard is built. */
export interface KerberosClientLike {
  step(challenge: string): Promise<string>;
  contextComplete: boolean;
}
export interface KerberosModule {
  initializeClient(service: string, options?: { mechOID?: number; gssFlag?: number }): Promise<KerberosClientLike>;
  GSS_MECH_OID_SPNEGO: number;
  GSS_C_MUTUAL_FLAG: number;
  GSS_C_SEQUENCE_FLAG: number;
}

export const KERBEROS_INSTALL_STEP = 'npm install kerberos (on Linux it builds from source: apt-get install libkrb5-dev g++ first)';

/**
 * Loads the optional addon; AuthFailure('missing-addon') naming the install step when it
 * is absent or broken. `name` is a variable so TypeScript does not resolve the optional
 * package at build time (and a test can name one that is not installed).
 */
export async function loadKerberos(name = 'kerberos'): Promise<KerberosModule> {
  let mod: Partial<KerberosModule> & { default?: KerberosModule };
  try {
    mod = (await import(name)) as typeof mod;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND' ? 'is not installed' : `could not be loaded (${firstLine(e.message)})`;
    throw new AuthFailure('missing-addon', `auth type negotiate needs the optional kerberos package, which ${why}: ${KERBEROS_INSTALL_STEP}`, { cause: err });
  }
  const api = typeof mod.initializeClient === 'function' ? (mod as KerberosModule) : mod.default;
  if (!api || typeof api.initializeClient !== 'function') {
    throw new AuthFailure(
      'missing-addon',
      `auth type negotiate: the installed kerberos package has no initializeClient (need kerberos 7): ${KERBEROS_INSTALL_STEP}`,
    );
  }
  return api;
}

/** `HTTP/cm.contoso.com` (config form) for the CM server `origin` when no spn is configured. */
export function defaultSpn(origin: string): string {
  return `HTTP/${new URL(origin).hostname.replace(/^\[(.*)\]$/, '$1')}`;
}

/** GSSAPI's host-based service name: `HTTP/cm.contoso.com` -> `HTTP@cm.contoso.com`. */
export function gssServiceName(spn: string): string {
  const slash = spn.indexOf('/');
  return slash < 0 ? spn : `${spn.slice(0, slash)}@${spn.slice(slash + 1)}`;
}

/**
 * A GSSAPI/SSPI error as one line that says what to do. MIT and Heimdal messages on
 * Linux and macOS, SSPI status names on Windows.
 */
export function classifyGssError(err: unknown, spn: string): AuthFailure {
  // MIT prefixes the useful part with boilerplate.
  const detail = firstLine(err instanceof Error ? err.message : String(err)).replace(
    /^Unspecified GSS failure\.\s+Minor code may provide more information:?\s*/i,
    '',
  );
  if (/not found in Kerberos database|Server not found|SEC_E_TARGET_UNKNOWN|target principal name is incorrect|0x80090303/i.test(detail)) {
    return new AuthFailure(
      'unknown-spn',
      `negotiate: the KDC does not know the service principal ${spn} (${detail}): set spn in the auth block to the SPN registered for the CM server (setspn -Q ${spn} lists it)`,
      { cause: err },
    );
  }
  if (/expired/i.test(detail)) {
    return new AuthFailure(
      'no-credentials',
      `negotiate: the Kerberos ticket has expired (${detail}): run kinit again, or give a keytab in KRB5_CLIENT_KTNAME`,
      { cause: err },
    );
  }
  if (/Cannot (contact|find) (any )?KDC|Cannot resolve network address for KDC|SEC_E_NO_AUTHENTICATING_AUTHORITY/i.test(detail)) {
    return new AuthFailure(
      'no-credentials',
      `negotiate: no KDC could be reached for the user's realm (${detail}): check the realm's kdc in krb5.conf (KRB5_CONFIG) or the domain controller`,
      { cause: err },
    );
  }
  if (
    /No Kerberos credentials|credentials (cache|were not|were unavailable)|No credentials|ccache|keytab|Client .* not found|SEC_E_NO_CREDENTIALS|SEC_E_LOGON_DENIED|Preauthentication failed/i.test(
      detail,
    )
  ) {
    return new AuthFailure(
      'no-credentials',
      `negotiate: no Kerberos credentials for the current user (${detail}): run kinit, or set KRB5_CLIENT_KTNAME to a keytab (on Windows: log on as a domain user)`,
      { cause: err },
    );
  }
  return new AuthFailure('handshake', `negotiate: the Kerberos handshake for ${spn} failed (${detail})`, { cause: err });
}

/** Most legs a handshake may take (Kerberos needs one; NTLM inside SPNEGO three). */
const MAX_LEGS = 4;

export interface NegotiateDeps {
  /** Where the addon comes from (tests give a fake server's counterpart). */
  load?: () => Promise<KerberosModule>;
}

export function createNegotiateAuthenticator(config: { spn?: string }, ctx: Pick<AuthContext, 'server'>, deps: NegotiateDeps = {}): Authenticator {
  const spn = config.spn ?? defaultSpn(ctx.server);
  const service = gssServiceName(spn);
  let addon: Promise<KerberosModule> | undefined;
  return {
    type: 'negotiate',
    binding: 'connection',
    async send(req: WireRequest, send: ConnectionSend): Promise<WireResponse> {
      addon ??= deps.load ? deps.load() : loadKerberos();
      const k = await addon;
      let client: KerberosClientLike;
      let token: string;
      try {
        client = await k.initializeClient(service, { mechOID: k.GSS_MECH_OID_SPNEGO, gssFlag: k.GSS_C_MUTUAL_FLAG | k.GSS_C_SEQUENCE_FLAG });
        token = await client.step('');
      } catch (err) {
        throw classifyGssError(err, spn);
      }
      for (let leg = 1; ; leg++) {
        const res = await send({ ...req, headers: withHeaders(req.headers, { Authorization: `Negotiate ${token}` }) });
        const reply = findChallenge(parseChallenges(res.multi['www-authenticate'] ?? []), 'Negotiate')?.token;
        if (res.status === 401) {
          // A continuation (NTLM inside SPNEGO) goes on; anything else is the server refusing.
          if (!reply || client.contextComplete || leg >= MAX_LEGS) return res;
          try {
            token = await client.step(reply);
          } catch (err) {
            throw classifyGssError(err, spn);
          }
          if (!token) return res;
          continue;
        }
        if (!client.contextComplete) {
          if (!reply) {
            throw new AuthFailure(
              'mutual-auth',
              `negotiate: the server answered ${res.status} without a Negotiate reply token, so it did not prove it holds the key of ${spn} (mutual authentication)`,
            );
          }
          try {
            await client.step(reply);
          } catch (err) {
            throw new AuthFailure(
              'mutual-auth',
              `negotiate: the server's reply token did not verify, so it did not prove it holds the key of ${spn} (mutual authentication failed: ${firstLine(err instanceof Error ? err.message : String(err))})`,
              { cause: err },
            );
          }
          if (!client.contextComplete) {
            throw new AuthFailure(
              'mutual-auth',
              `negotiate: the server's reply token did not complete the Kerberos context for ${spn} (mutual authentication failed)`,
            );
          }
        }
        return res;
      }
    },
  };
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}
