import { describe, expect, it } from 'vitest';
import { consoleReporter, summaryLine } from '../../../harness/reporters/console.js';
import { failedRun, memoryStream, play, sampleRun, SECRETS } from './fixtures.js';

const ESC = '\u001b';

describe('console report, plain mode (CI logs)', () => {
  it('prints a header, one aligned line per case and the summary line, without escape sequences', async () => {
    const out = memoryStream();
    await play(consoleReporter({ stream: out, tty: false, color: false }), sampleRun());
    const text = out.text();
    expect(text).not.toContain(ESC);
    expect(text).not.toContain('\r');
    const lines = text.split('\n');
    expect(lines[0]).toBe('cmcard 0.1.0 conformance: 5 cases against http://127.0.0.1:41234');
    // ids are padded to the longest id of the run (input.malformed-challenge, 25 characters).
    expect(lines).toContain('PASS  MUST    example.documented         (12 ms)  answered "F0Zudm4wPLY="');
    expect(lines).toContain('SKIP  MUST    auth.forbidden             (0 ms)  no forbiddenHeaders in the config');
    expect(lines).toContain('PASS  MAY     method.not-allowed         (7 ms)  POST 405, PUT 405, DELETE 405');
    expect(lines.at(-2)).toBe('2 passed, 1 failed, 1 warning, 1 skipped in 812 ms');
    expect(lines.at(-1)).toBe('');
  });

  it('shows a failure with its message lines and the exchange it ended on, in short', async () => {
    const out = memoryStream();
    await play(consoleReporter({ stream: out, tty: false, color: false }), sampleRun());
    const lines = out.text().split('\n');
    const at = lines.findIndex((l) => l.startsWith('FAIL  MUST    response.correct'));
    expect(lines[at]).toBe('FAIL  MUST    response.correct           (40 ms)  card example: the card refused the response');
    expect(lines[at + 1]).toBe('      expected a different cryptogram');
    expect(lines[at + 2]).toMatch(/^ {6}GET http:\/\/127\.0\.0\.1:41234\/\S+ -> 500 \(3 ms\) \[last of 2 requests\]$/);
    // The body on one line, control characters spelled out so they cannot drive the terminal.
    expect(lines[at + 3]).toBe(`      <script>alert("x")</script> & 'quoted' \\x00\\x01\\x1b\\uffff end`);
    const warn = lines.findIndex((l) => l.startsWith('WARN  SHOULD'));
    expect(lines[warn + 1]).toMatch(/-> no response: timeout after 5000 ms \(5001 ms\)$/);
  });

  it('shows the exchange(s) the case failed on, not the last: why, the body as a visible literal, a curl; then the notes once', async () => {
    const out = memoryStream();
    await play(consoleReporter({ stream: out, tty: false, color: false }), failedRun());
    const text = out.text();
    expect(text).not.toContain(ESC);
    const lines = text.split('\n');
    const at = lines.findIndex((l) => l.startsWith('FAIL  MUST    response.correct'));
    expect(lines[at + 2]).toMatch(/^ {6}GET http:\/\/127\.0\.0\.1:41234\/\S+ -> 200 \(3 ms\) \[failed on request 1 of 2\]$/);
    // The missing JSON quotes show: the literal is "F0Zudm4wPLY=", where a right body shows as "\"F0Zudm4wPLY=\"".
    expect(lines[at + 3]).toBe('      body: "F0Zudm4wPLY="');
    expect(lines[at + 4]).toBe('      why: the body is bare base64, without the JSON string quotes');
    expect(lines[at + 5]).toMatch(/^ {6}reproduce: curl -sS -i -g 'http:\/\/127\.0\.0\.1:41234\/\S+' -H "Authorization: Bearer \$\{CM_TOKEN\}"$/);
    expect(text).not.toContain('[last of');
    expect(lines.at(-3)).toBe(
      'note: likely root cause of 3 failing cases (response.correct, response.format, path.case-insensitive): the body is bare base64, without the JSON string quotes',
    );
    expect(lines.at(-2)).toBe('2 passed, 1 failed, 1 warning, 1 skipped in 812 ms');
  });

  it('prints no credentials', async () => {
    const out = memoryStream();
    const run = sampleRun();
    run.results[1]!.exchanges.push({ ...run.results[0]!.exchanges[0]! });
    run.server = 'http://admin:hunter2@127.0.0.1:41234';
    await play(consoleReporter({ stream: out, tty: false, color: false }), run);
    for (const secret of [...SECRETS, 'hunter2']) expect(out.text()).not.toContain(secret);
  });

  it('pluralises warnings in the summary line', () => {
    expect(summaryLine({ passed: 20, failed: 0, warnings: 1, skipped: 2 }, 812.4)).toBe('20 passed, 0 failed, 1 warning, 2 skipped in 812 ms');
    expect(summaryLine({ passed: 0, failed: 3, warnings: 2, skipped: 0 }, 5)).toBe('0 passed, 3 failed, 2 warnings, 0 skipped in 5 ms');
  });
});

describe('console report on a TTY', () => {
  it('rewrites a status line in place and leaves only case lines and the summary behind', async () => {
    const out = memoryStream(200);
    await play(consoleReporter({ stream: out, tty: true, color: false }), sampleRun());
    const text = out.text();
    expect(text).toContain('\r\u001b[2K[1/5] 0 passed, 0 failed, 0 warnings, 0 skipped  example.documented');
    expect(text).toContain('[2/5] 1 passed, 0 failed, 0 warnings, 0 skipped  response.correct (2 requests)');
    // What the terminal finally shows: apply each \r + clear-line as a rewrite of the last row.
    const screen: string[] = [''];
    for (const piece of text.split(/(\r\u001b\[2K|\n)/)) {
      if (piece === '\n') screen.push('');
      else if (piece === '\r\u001b[2K') screen[screen.length - 1] = '';
      else screen[screen.length - 1] += piece;
    }
    expect(screen.filter((l) => l.startsWith('['))).toEqual([]);
    expect(screen.filter((l) => /^(PASS|FAIL|WARN|SKIP) /.test(l))).toHaveLength(5);
    expect(screen.at(-2)).toBe('2 passed, 1 failed, 1 warning, 1 skipped in 812 ms');
  });

  it('keeps the status line narrower than the terminal so it never wraps', async () => {
    const out = memoryStream(30);
    await play(consoleReporter({ stream: out, tty: true, color: false }), sampleRun());
    const statuses = out
      .text()
      .split('\r\u001b[2K')
      .filter((p) => p.startsWith('['));
    expect(statuses.length).toBeGreaterThan(0);
    for (const s of statuses) expect(s.split('\n')[0]!.length).toBeLessThan(30);
  });

  it('colours outcomes only when asked', async () => {
    const out = memoryStream(200);
    await play(consoleReporter({ stream: out, tty: true, color: true }), sampleRun());
    expect(out.text()).toContain(`${ESC}[31mFAIL${ESC}[0m`);
    expect(out.text()).toContain(`${ESC}[32mPASS${ESC}[0m`);
  });
});
