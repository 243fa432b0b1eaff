import { InputError } from '../simulator/errors.js';

/** Exit codes of docs/cli.md. */
export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, UNREACHABLE: 3 } as const;

/** An error that ends the CLI with a given exit code and a one-line message. */
export class ExitError extends Error {
  override readonly name = 'ExitError';
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** Turns any error into (one line on stderr, exit code). Stack traces only with CMCARD_DEBUG=1. */
export function reportError(err: unknown): number {
  if (err instanceof ExitError) {
    if (err.message) process.stderr.write(`cmcard: ${err.message}\n`);
    return err.exitCode;
  }
  // Credentials that cannot be produced (no Kerberos ticket, the addon missing, a token endpoint refusing) are the config's to fix.
  if (err instanceof InputError || (err instanceof Error && err.name === 'AuthFailure')) {
    process.stderr.write(`cmcard: ${err.message}\n`);
    return EXIT.USAGE;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`cmcard: unexpected error: ${message.split('\n')[0]}\n`);
  if (process.env.CMCARD_DEBUG === '1' && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return EXIT.FAILED;
}
