/**
 * The first minute, before any case runs: is there a server at all, and does the way we
 * talk to it work? Two outcomes end a command early with one line:
 * - nothing answers (refused, unresolvable, timed out, TLS refused, not HTTP): exit 3.
 *   Any status, even 404 or 500, proves the server is there; a body over the cap is an
 *   answer too;
 * - the server answers, but the credentials or the base path are wrong (a scheme the
 *   config does not do, credentials refused, every endpoint 404, a login page): exit 2,
 *   with what to write in the config (harness/wire/auth/diagnose.ts words it).
 */
import { randomBytes } from 'node:crypto';
import { EXIT, ExitError } from './cli-support.js';
import type { HarnessConfig } from './config.js';
import type { CmSession } from './config-client.js';
import { AuthFailure } from './wire/auth/types.js';
import { diagnose, type ProbeAnswer } from './wire/auth/diagnose.js';
import { CmClient, type CmResponse } from './wire/cm-client.js';
import { meansNoAnswer, TransportError } from './wire/transport-error.js';

export class ServerUnreachableError extends ExitError {
  constructor(message: string) {
    super(message, EXIT.UNREACHABLE);
  }
}

/** Checks reachability, then probes as the caller with rights; throws ExitError (3 or 2) with one line. */
export async function preflight(session: CmSession, config: HarnessConfig): Promise<void> {
  const client = new CmClient({ ...session.options, onExchange: undefined });
  try {
    await reachable(client, config);
    await probe(client, config);
  } finally {
    client.close();
  }
}

async function reachable(client: CmClient, config: HarnessConfig): Promise<void> {
  try {
    await client.raw('GET', config.basePath || '/', { caller: 'anonymous' });
  } catch (err) {
    if (err instanceof TransportError && meansNoAnswer(err.kind)) throw new ServerUnreachableError(`server unreachable (${err.kind}): ${err.message}`);
    if (!(err instanceof TransportError)) throw err;
  }
}

/** One real request as the caller with rights (the first card, a fresh challenge); on 404 two more endpoints. */
async function probe(client: CmClient, config: HarnessConfig): Promise<void> {
  const card = config.cards[0]!;
  const answers: ProbeAnswer[] = [];
  const facts = {
    server: config.server,
    basePath: config.basePath,
    auth: config.auth ?? { type: 'headers' as const, headers: config.headers },
    key: config.auth ? 'auth' : 'headers',
  };
  let apiAnswered = false;
  const note = (what: string, res: CmResponse): CmResponse => {
    // A JSON error body is the CM API speaking (an unknown card, say), not a missing API.
    if (res.status === 404 && isJson(res)) apiAnswered = true;
    answers.push({ request: what, status: res.status, ...challengesOf(res), ...(res.headers.location ? { location: res.headers.location } : {}) });
    return res;
  };
  let line: string | null;
  try {
    const first = note(
      `GET ${config.basePath}/requests/${card.reqid}/smartcards/${card.scid}/authenticationresponse`,
      await client.authenticationResponse({ reqid: card.reqid, scid: card.scid, cardid: card.cardid, challenge: randomBytes(8), diversified: false }),
    );
    if (first.status === 404) {
      note(`GET ${config.basePath}/requests/${card.reqid}`, await client.getRequest(card.reqid));
      note(`GET ${config.basePath}/profiletemplates`, await client.profileTemplates());
    }
    // A mechanism that returned an answer ran its handshake (or fetched its token) to the end.
    line = diagnose({
      ...facts,
      answers: apiAnswered ? answers.filter((a) => a.status !== 404) : answers,
      handshakeCompleted: config.auth !== undefined && config.auth.type !== 'headers',
    });
  } catch (err) {
    if (err instanceof AuthFailure) line = diagnose({ ...facts, answers, handshakeCompleted: false, failure: err });
    else if (err instanceof TransportError)
      return; // the cases will report it per request
    else throw err;
  }
  if (line) throw new ExitError(line, EXIT.USAGE);
}

function isJson(res: CmResponse): boolean {
  if (!/json/i.test(res.headers['content-type'] ?? '')) return false;
  try {
    JSON.parse(res.body);
    return true;
  } catch {
    return false;
  }
}

function challengesOf(res: CmResponse): { wwwAuthenticate?: string[] } {
  const values = res.multi?.['www-authenticate'] ?? (res.headers['www-authenticate'] ? [res.headers['www-authenticate']] : []);
  return values.length > 0 ? { wwwAuthenticate: values } : {};
}

/** Reachability alone, for commands without a config (verify-pact): throws ServerUnreachableError (exit 3). */
export async function ensureReachable(options: ConstructorParameters<typeof CmClient>[0]): Promise<void> {
  const client = new CmClient({ ...options, onExchange: undefined });
  try {
    await client.raw('GET', options.basePath || '/');
  } catch (err) {
    if (err instanceof TransportError && meansNoAnswer(err.kind)) throw new ServerUnreachableError(`server unreachable (${err.kind}): ${err.message}`);
    if (!(err instanceof TransportError)) throw err;
  } finally {
    client.close();
  }
}
