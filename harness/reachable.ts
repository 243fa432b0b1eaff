/**
 * "Server unreachable" (exit 3, SPEC.md section 3), defined once for every command: no
 * HTTP answer came at all. Any status, even 404 or 500, proves the server is there; a
 * body over the size cap is an answer too. Refused, unresolvable, timed out, TLS refused
 * or not speaking HTTP is unreachable.
 */
import { EXIT, ExitError } from './cli-support.js';
import { CmClient, CmTransportError, type CmClientOptions } from './cm-client.js';

/** True when a transport failure of this kind means no HTTP answer came (CmTransportError kinds and load mode's). */
export function meansNoAnswer(kind: string): boolean {
  return kind !== 'too-large';
}

export class ServerUnreachableError extends ExitError {
  constructor(message: string) {
    super(message, EXIT.UNREACHABLE);
  }
}

/** One request to the base path (or `/`); throws ServerUnreachableError (exit 3) when nothing answers. */
export async function ensureReachable(options: CmClientOptions): Promise<void> {
  const client = new CmClient({ ...options, onExchange: undefined });
  try {
    await client.raw('GET', options.basePath || '/');
  } catch (err) {
    if (err instanceof CmTransportError && meansNoAnswer(err.kind)) {
      throw new ServerUnreachableError(`server unreachable (${err.kind}): ${err.message}`);
    }
    if (!(err instanceof CmTransportError)) throw err;
  } finally {
    client.close();
  }
}
