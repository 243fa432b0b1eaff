/**
 * "Server unreachable" (exit 3, SPEC.md section 3), defined once for every command: no
 * HTTP answer came at all. Any status, even 404 or 500, proves the server is there; a
 * body over the size cap is an answer too. Refused, unresolvable, timed out, TLS refused
 * or not speaking HTTP is unreachable.
 */
import { EXIT, ExitError } from './cli-support.js';
import { CmClient, type CmClientOptions } from './wire/cm-client.js';
import { meansNoAnswer, TransportError } from './wire/transport-error.js';

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
    if (err instanceof TransportError && meansNoAnswer(err.kind)) {
      throw new ServerUnreachableError(`server unreachable (${err.kind}): ${err.message}`);
    }
    if (!(err instanceof TransportError)) throw err;
  } finally {
    client.close();
  }
}
