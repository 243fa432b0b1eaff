/**
 * `cmcard serve --auth negotiate`: the reference server demands Windows Integrated
 * Authentication as IIS does, so a help-desk tool can be tested against a Kerberized CM
 * without IIS. Each connection presents `Authorization: Negotiate <token>` once; the
 * token is accepted with the service keys of a keytab (through the optional `kerberos`
 * package), the reply token goes back for mutual authentication, and the connection stays
 * authenticated for later requests (as IIS keeps it). The principal's role comes from a
 * table (`--principal-role alice@REALM=helpdesk`); anyone else is an authenticated user
 * without rights.
 */
import { accessSync, constants } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { InputError } from '../simulator/errors.js';
import type { Principal, RequestAuthenticator } from './auth.js';
import { HttpError } from './http-error.js';
import type { Role } from './model.js';

/** The roles a principal can be given on the command line. */
export const PRINCIPAL_ROLES: Record<'helpdesk' | 'user', readonly Role[]> = {
  /** The help desk: admin-key responses and everything else (as the demo helpdesk token). */
  helpdesk: ['sensitive', 'manage'],
  /** Authenticated, but may not obtain responses or keys. */
  user: [],
};
export type PrincipalRoleName = keyof typeof PRINCIPAL_ROLES;

export interface NegotiateOptions {
  /** The service keytab (keys of HTTP/<host>), as the KRB5_KTNAME of this process. */
  keytab: string;
  /** Principal (`alice@CONTOSO.COM`, any case) -> role; unlisted principals are `user`. */
  principalRoles?: Record<string, PrincipalRoleName>;
}

/** The part of the `kerberos` package's server API used here (typed locally: the package is optional). */
interface KerberosServerLike {
  step(token: string): Promise<string>;
  username: string;
  response: string;
  contextComplete: boolean;
}
interface KerberosServerModule {
  initializeServer(service: string): Promise<KerberosServerLike>;
}

const CHALLENGE = 'Negotiate';
const INSTALL = 'npm install kerberos (on Linux it builds from source: apt-get install libkrb5-dev g++ first)';

/** `name=role` pairs as given to --principal-role; throws InputError naming the bad one. */
export function parsePrincipalRoles(pairs: readonly string[]): Record<string, PrincipalRoleName> {
  const out: Record<string, PrincipalRoleName> = {};
  for (const pair of pairs) {
    const eq = pair.lastIndexOf('=');
    const name = eq > 0 ? pair.slice(0, eq).trim() : '';
    const role = eq > 0 ? pair.slice(eq + 1).trim() : '';
    if (!name || !(role in PRINCIPAL_ROLES)) {
      throw new InputError(
        `--principal-role must look like PRINCIPAL=helpdesk or PRINCIPAL=user (e.g. alice@CONTOSO.COM=helpdesk), got ${JSON.stringify(pair)}`,
      );
    }
    out[name.toLowerCase()] = role as PrincipalRoleName;
  }
  return out;
}

export class NegotiateAuthenticator implements RequestAuthenticator {
  /** Connections that completed a handshake, and who they are. */
  private readonly bound = new WeakMap<Socket, Principal>();

  private constructor(
    private readonly kerberos: KerberosServerModule,
    private readonly roles: Record<string, PrincipalRoleName>,
  ) {}

  /** Loads the addon and points GSSAPI at the keytab; InputError naming the flag or the install step. */
  static async create(options: NegotiateOptions): Promise<NegotiateAuthenticator> {
    try {
      accessSync(options.keytab, constants.R_OK);
    } catch {
      throw new InputError(`--keytab ${options.keytab} cannot be read`);
    }
    const name = 'kerberos';
    let mod: Partial<KerberosServerModule> & { default?: KerberosServerModule };
    try {
      mod = (await import(name)) as typeof mod;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND' ? 'is not installed' : `could not be loaded (${e.message.split('\n')[0]})`;
      throw new InputError(`--auth negotiate needs the optional kerberos package, which ${why}: ${INSTALL}`);
    }
    const api = typeof mod.initializeServer === 'function' ? (mod as KerberosServerModule) : mod.default;
    if (!api || typeof api.initializeServer !== 'function')
      throw new InputError(`--auth negotiate: the installed kerberos package has no server API: ${INSTALL}`);
    // GSSAPI reads the acceptor's keytab from the environment when it accepts.
    process.env.KRB5_KTNAME = `FILE:${options.keytab}`;
    const roles: Record<string, PrincipalRoleName> = {};
    for (const [k, v] of Object.entries(options.principalRoles ?? {})) roles[k.toLowerCase()] = v;
    return new NegotiateAuthenticator(api, roles);
  }

  authenticateRequest(req: IncomingMessage, res: ServerResponse): Principal | Promise<Principal> {
    const authorization = req.headers.authorization;
    if (authorization === undefined || authorization.trim() === '') {
      const known = this.bound.get(req.socket);
      if (known) return known;
      throw new HttpError(401, 'authentication required: send Authorization: Negotiate <token> (Kerberos)', { 'WWW-Authenticate': CHALLENGE });
    }
    const m = /^Negotiate\s+(\S+)\s*$/i.exec(authorization);
    if (!m) throw new HttpError(401, 'Authorization must use the Negotiate scheme (Kerberos)', { 'WWW-Authenticate': CHALLENGE });
    return this.accept(m[1]!, req.socket, res);
  }

  private async accept(token: string, socket: Socket, res: ServerResponse): Promise<Principal> {
    // A new token on a bound connection re-authenticates it: forget the old identity first.
    this.bound.delete(socket);
    let server: KerberosServerLike;
    try {
      // '' accepts for any service principal in the keytab (HTTP/localhost, HTTP/127.0.0.1...).
      server = await this.kerberos.initializeServer('');
      await server.step(token);
    } catch {
      // The reason (wrong key, replay, skew) is the client's to find out; the answer stays generic.
      throw new HttpError(401, 'the Negotiate token was not accepted', { 'WWW-Authenticate': CHALLENGE });
    }
    if (!server.contextComplete || !server.username) {
      throw new HttpError(401, 'the Negotiate handshake did not complete (only Kerberos is accepted)', { 'WWW-Authenticate': CHALLENGE });
    }
    // The reply token proves to the client that we hold the service key (mutual authentication).
    if (server.response) res.setHeader('WWW-Authenticate', `Negotiate ${server.response}`);
    const principal: Principal = { name: server.username, roles: PRINCIPAL_ROLES[this.roles[server.username.toLowerCase()] ?? 'user'] };
    this.bound.set(socket, principal);
    return principal;
  }
}
