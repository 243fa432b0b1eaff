import type { CmResponse } from '../wire/cm-client.js';
import { inParallel, unknownGuid } from './helpers.js';
import { MALFORMED } from './input.js';
import { bodySnippet } from './cryptogram.js';
import type { CaseContext, ConformanceCase } from './types.js';

/** Requests a server must refuse, sent all at once, for the checks on error bodies. */
async function errorResponses(ctx: CaseContext): Promise<Array<[string, CmResponse]>> {
  const card = ctx.config.cards[0]!;
  const ids = { reqid: card.reqid, scid: card.scid, cardid: card.cardid };
  const requests: Array<[string, () => Promise<CmResponse>]> = [
    ...MALFORMED.map(([label, challenge]): [string, () => Promise<CmResponse>] => [
      label,
      () => ctx.client.authenticationResponse({ ...ids, challenge, diversified: false }),
    ]),
    [
      'a percent sign in the challenge',
      () => ctx.client.authenticationResponse({ ...ids, rawQuery: `cardid=${card.cardid}&challenge=%E0%A4%A&diversified=False` }),
    ],
    ['no query at all', () => ctx.client.authenticationResponse({ ...ids })],
    ['a reqid that is not a GUID', () => ctx.client.authenticationResponse({ ...ids, reqid: 'not-a-guid', challenge: Buffer.alloc(8, 7), diversified: false })],
    ['an unknown reqid', () => ctx.client.authenticationResponse({ ...ids, reqid: unknownGuid(), challenge: Buffer.alloc(8, 7), diversified: false })],
    ['diversified=maybe', () => ctx.client.authenticationResponse({ ...ids, challenge: Buffer.alloc(8, 7), diversified: 'maybe' })],
    ['no credentials', () => ctx.client.authenticationResponse({ ...ids, challenge: Buffer.alloc(8, 7), diversified: false }, { caller: 'anonymous' })],
  ];
  const answers = await inParallel(requests, ([, send]) => send());
  return answers.map((res, i): [string, CmResponse] => [requests[i]![0], res]).filter(([, res]) => res.status >= 400);
}

/** What internals look like in an error body: stack frames, source paths, exception type names. */
const LEAKS: Array<[string, RegExp]> = [
  ['a stack frame', /\bat\s+[\w$.<>[\]]+\s*\([^)]*:\d+(?::\d+)?\)|\n\s+at\s+\S+|\bat\s+\/[^\s]+:\d+:\d+| in [^\s]+:line \d+/],
  ['a Python traceback', /Traceback \(most recent call last\)/],
  ['a source file reference', /[\w-]+\.(?:[cm]?js|ts|cs|java|py|go|rb|php):\d+|[/\\][\w.-]+\.(?:[cm]?js|ts|cs|java|py|go|rb|php)\b/],
  ['a file system path', /(?:^|[\s"'(=])(?:\/(?:home|usr|var|opt|srv|app|src|tmp|Users|root|work)\/|[A-Za-z]:\\\\?[\w ]+\\)/],
  ['an exception type', /\b(?:System\.[A-Z]\w*|[A-Z]\w*(?:Exception|Error))\b/],
];

export function findLeak(body: string): string | null {
  for (const [what, re] of LEAKS) {
    const m = re.exec(body);
    if (m) return `${what} (${JSON.stringify(m[0].trim().slice(0, 60))})`;
  }
  return null;
}

export const errorsNoLeak: ConformanceCase = {
  id: 'errors.no-leak',
  title: 'Error bodies carry no stack trace, file path or exception type',
  level: 'SHOULD',
  async run(ctx) {
    const errors = await errorResponses(ctx);
    const problems: string[] = [];
    for (const [label, res] of errors) {
      const leak = findLeak(res.body);
      if (!leak) continue;
      problems.push(`${label} (${res.status}): the body shows ${leak}`);
      ctx.blame(res, `the body shows ${leak.replace(/ \(.*$/, '')}`);
    }
    if (problems.length) ctx.fail(problems.join('; '));
    return ctx.pass(`${errors.length} error bodies checked, none shows internals`);
  },
};

export const errorsJsonBody: ConformanceCase = {
  id: 'errors.json-body',
  title: 'Error answers with a body are application/json (the service answers JSON only)',
  level: 'SHOULD',
  async run(ctx) {
    const errors = await errorResponses(ctx);
    const problems: string[] = [];
    let front = 0;
    for (const [label, res] of errors) {
      if (res.body.trim() === '') continue;
      // A 401 that challenges for Windows authentication comes from the web server in front
      // of the service (IIS), before the CM API runs: its page is not the API's answer.
      if (res.status === 401 && /^\s*(negotiate|ntlm)\b/im.test(res.headers['www-authenticate'] ?? '')) {
        front += 1;
        continue;
      }
      const media = res.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
      let json = true;
      try {
        JSON.parse(res.body);
      } catch {
        json = false;
      }
      if (media === 'application/json' && json) continue;
      problems.push(`${label} (${res.status}): ${media ?? 'no Content-Type'}${json ? '' : ', body not JSON'}${bodySnippet(res.body, ctx.redactor)}`);
      ctx.blame(
        res,
        media !== 'application/json' ? `an error answer with ${media ?? 'no Content-Type'}, not application/json` : 'an error body that is not JSON',
      );
    }
    if (problems.length) ctx.fail(problems.join('; '));
    return ctx.pass(
      `${errors.length - front} error answers, each JSON or empty${front ? ` (${front} Windows-authentication challenge(s) from the web server in front not judged)` : ''}`,
    );
  },
};
