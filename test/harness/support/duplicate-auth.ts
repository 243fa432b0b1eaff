import { request } from 'node:http';
import type { HarnessConfig } from '../../../harness/config.js';

/**
 * Whether a server answers 200 to a request that carries the configured Authorization
 * and then another one (the forbidden caller's): a server that takes the first header.
 * For tests whose expectation depends on it (auth.duplicate must warn exactly then).
 */
export async function acceptsDuplicateAuthorization(config: HarnessConfig): Promise<boolean> {
  const card = config.cards[0]!;
  const first = config.headers.Authorization!;
  const second = config.forbiddenHeaders?.Authorization ?? 'Bearer not-a-token';
  const path = `${config.basePath}/requests/${card.reqid}/smartcards/${card.scid}/authenticationresponse?cardid=${card.cardid}&challenge=${encodeURIComponent('1hFD+cz/0so=')}&diversified=False`;
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(`${config.server}${path}`, { headers: { Authorization: [first, second] } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.setTimeout(5000, () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', reject);
    req.end();
  });
  return status === 200;
}
