/**
 * An error that maps to one HTTP status and a message safe to show the caller. Anything
 * else thrown inside a handler becomes a 500 whose body says only "internal error" and the
 * correlation id, so internals never leak.
 */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const badRequest = (message: string): HttpError => new HttpError(400, message);
export const notFound = (message: string): HttpError => new HttpError(404, message);
