import type { CaseResult, RecordedExchange, Reporter, RunReport } from '../../../harness/events.js';

/** Synthetic runs for the reporter tests: every outcome, every level, hostile bodies. */

export const HOSTILE_BODY = `<script>alert("x")</script> & 'quoted' \u0000\u0001\u001b\uFFFF end`;

const url = (query: string): string => `http://127.0.0.1:41234/CertificateManagement/api/v1.0/requests/1a2b/smartcards/3c4d/authenticationresponse?${query}`;

export function exchange(overrides: Partial<RecordedExchange> = {}): RecordedExchange {
  return {
    request: { method: 'GET', url: url('cardid=c1&challenge=1hFD%2Bcz%2F0so%3D&diversified=False'), headers: { Accept: 'application/json' } },
    response: { status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: '"F0Zudm4wPLY="' },
    durationMs: 3,
    ...overrides,
  };
}

export function sampleRun(): RunReport {
  const results: CaseResult[] = [
    {
      id: 'example.documented',
      title: 'The documented request answers the documented response',
      level: 'MUST',
      outcome: 'passed',
      message: 'answered "F0Zudm4wPLY="',
      durationMs: 12,
      exchanges: [exchange({ request: { method: 'GET', url: url('x=1'), headers: { Authorization: 'Bearer demo-helpdesk', Cookie: 'session=abc' } } })],
    },
    {
      id: 'response.correct',
      title: 'Responses are the right cryptogram',
      level: 'MUST',
      outcome: 'failed',
      message: 'card example: the card refused the response\nexpected a different cryptogram',
      durationMs: 40,
      exchanges: [
        exchange(),
        exchange({ response: { status: 500, headers: { 'content-type': 'text/html', 'Set-Cookie': 'sid=secret-cookie' }, body: HOSTILE_BODY } }),
      ],
    },
    {
      id: 'input.malformed-challenge',
      title: 'Malformed challenges get 4xx',
      level: 'SHOULD',
      outcome: 'warning',
      message: `a 7-byte challenge got 500 <b>"bold"</b> & more`,
      durationMs: 5,
      exchanges: [exchange({ response: undefined, error: 'timeout after 5000 ms', durationMs: 5001 })],
    },
    {
      id: 'auth.forbidden',
      title: 'A caller without rights is refused',
      level: 'MUST',
      outcome: 'skipped',
      message: 'no forbiddenHeaders in the config',
      durationMs: 0,
      exchanges: [],
    },
    {
      id: 'method.not-allowed',
      title: 'Other methods get no 200',
      level: 'MAY',
      outcome: 'passed',
      message: 'POST 405, PUT 405, DELETE 405',
      durationMs: 7,
      exchanges: [
        exchange({
          request: { method: 'POST', url: url('a=b'), headers: { 'X-Api-Key': 'k-123' }, body: '{"x":1}' },
          response: { status: 405, headers: {}, body: '' },
        }),
      ],
    },
  ];
  return {
    tool: { name: 'cmcard', version: '0.1.0' },
    server: 'http://127.0.0.1:41234',
    startedAt: '2026-11-29T08:00:00.000Z',
    cases: results.map(({ id, title, level }) => ({ id, title, level })),
    durationMs: 812,
    summary: { passed: 2, failed: 1, warnings: 1, skipped: 1 },
    results,
  };
}

/**
 * The sample run as the runner now leaves a failure: response.correct failed on its FIRST
 * exchange (marked, with why and a reproduction), and the run has notes.
 */
export function failedRun(): RunReport {
  const run = sampleRun();
  const correct = run.results[1]!;
  correct.exchanges[0] = {
    ...correct.exchanges[0]!,
    response: { status: 200, headers: { 'content-type': 'application/json' }, body: 'F0Zudm4wPLY=' },
    failed: true,
    why: 'the body is bare base64, without the JSON string quotes',
    reproduce: `curl -sS -i -g '${url('cardid=c1&challenge=1hFD%2Bcz%2F0so%3D&diversified=False')}' -H "Authorization: Bearer \${CM_TOKEN}"`,
  };
  run.notes = [
    'likely root cause of 3 failing cases (response.correct, response.format, path.case-insensitive): the body is bare base64, without the JSON string quotes',
  ];
  return run;
}

/** Plays a finished run through a reporter as the runner does: start, per case start/exchanges/end, end. */
export async function play(reporter: Reporter, run: RunReport): Promise<void> {
  const { durationMs: _d, summary: _s, results, ...info } = run;
  reporter.onRunStart?.(info);
  for (const result of results) {
    reporter.onCaseStart?.({ id: result.id, title: result.title, level: result.level });
    for (const e of result.exchanges) reporter.onExchange?.(result.id, e);
    reporter.onCaseEnd?.(result);
  }
  await reporter.onRunEnd?.(run);
}

/** A writable that keeps what was written. */
export function memoryStream(columns?: number): { write(text: string): boolean; columns?: number; text(): string } {
  let buffer = '';
  return {
    columns,
    write(text: string) {
      buffer += text;
      return true;
    },
    text: () => buffer,
  };
}

export const SECRETS = ['demo-helpdesk', 'session=abc', 'secret-cookie', 'k-123'];
