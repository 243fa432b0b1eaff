import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import type { RunReport } from '../../../harness/events.js';
import { junitReporter, renderJunit } from '../../../harness/reporters/junit.js';
import { exchange, failedRun, play, sampleRun, SECRETS } from './fixtures.js';

interface Testcase {
  '@_classname': string;
  '@_name': string;
  '@_time': string;
  failure?: { '#text': string; '@_message': string; '@_type': string };
  skipped?: { '@_message': string };
  'system-out'?: string;
}

function parse(xml: string): { suites: Record<string, string>; suite: Record<string, unknown>; cases: Testcase[] } {
  const valid = XMLValidator.validate(xml);
  expect(valid, JSON.stringify(valid)).toBe(true);
  const parser = new XMLParser({
    ignoreAttributes: false,
    parseAttributeValue: false,
    parseTagValue: false,
    trimValues: false,
    processEntities: true,
    // fast-xml-parser decodes numeric character references (&#10; &#39;) only with this on.
    htmlEntities: true,
    isArray: (name) => name === 'testcase',
  });
  const doc = parser.parse(xml) as { testsuites: Record<string, any> };
  const suite = doc.testsuites.testsuite as Record<string, unknown>;
  return { suites: doc.testsuites, suite, cases: (suite.testcase as Testcase[]) ?? [] };
}

describe('JUnit XML report', () => {
  it("lists the exchanges a failure was on first, with why and the reproduction, and the run's notes as properties", () => {
    const { suite, cases } = parse(renderJunit(failedRun()));
    const failure = cases.find((c) => c['@_name'] === 'response.correct')!.failure!['#text'];
    expect(failure).toMatch(
      /Failed on 1 of 2 exchanges:\n- GET \S+ -> 200 \(3 ms\)\n {2}why: the body is bare base64, without the JSON string quotes\n {2}reproduce: curl /,
    );
    expect(failure).toContain('FAILED ON THIS EXCHANGE');
    const properties = (suite.properties as { property: Array<Record<string, string>> }).property;
    expect(properties.filter((p) => p['@_name'] === 'note').map((p) => p['@_value'])).toEqual(failedRun().notes);
  });

  it('has one testcase per case, classname = level and name = id', () => {
    const run = sampleRun();
    const { cases } = parse(renderJunit(run));
    expect(cases.map((c) => [c['@_classname'], c['@_name']])).toEqual(run.results.map((r) => [r.level, r.id]));
    expect(cases.find((c) => c['@_name'] === 'response.correct')!['@_time']).toBe('0.040');
  });

  it('counts tests, failures and skipped on the suite', () => {
    const { suites, suite } = parse(renderJunit(sampleRun()));
    for (const node of [suites, suite] as Array<Record<string, unknown>>) {
      expect(node['@_tests']).toBe('5');
      expect(node['@_failures']).toBe('1');
      expect(node['@_skipped']).toBe('1');
      expect(node['@_errors']).toBe('0');
      expect(node['@_time']).toBe('0.812');
    }
  });

  it('marks a failed case with <failure> carrying the message and the transcript', () => {
    const { cases } = parse(renderJunit(sampleRun()));
    const failed = cases.find((c) => c['@_name'] === 'response.correct')!;
    expect(failed.failure!['@_message']).toBe('card example: the card refused the response\nexpected a different cryptogram');
    expect(failed.failure!['@_type']).toBe('MUST');
    expect(failed.failure!['#text']).toContain('-> 500');
    expect(cases.filter((c) => c.failure)).toHaveLength(1);
  });

  it('marks a skipped case with <skipped message>', () => {
    const { cases } = parse(renderJunit(sampleRun()));
    const skipped = cases.filter((c) => c.skipped !== undefined);
    expect(skipped.map((c) => c['@_name'])).toEqual(['auth.forbidden']);
    expect(skipped[0]!.skipped!['@_message']).toBe('no forbiddenHeaders in the config');
  });

  it('keeps a warning a passing testcase with the warning in <system-out>', () => {
    const { cases } = parse(renderJunit(sampleRun()));
    const warning = cases.find((c) => c['@_name'] === 'input.malformed-challenge')!;
    expect(warning.failure).toBeUndefined();
    expect(warning.skipped).toBeUndefined();
    expect(warning['system-out']).toContain('WARNING (SHOULD): a 7-byte challenge got 500 <b>"bold"</b> & more');
    expect(warning['system-out']).toContain('no response: timeout after 5000 ms');
  });

  it('escapes < & " \' and makes control characters visible instead of breaking the XML', () => {
    const run = sampleRun();
    const nasty = `a<b & "c" 'd' \u0000\u0008\u000b\u001f\ud800 tab\there`;
    const hostile: RunReport = {
      ...run,
      results: [
        { ...run.results[1]!, id: 'response.correct', message: nasty, exchanges: [exchange({ response: { status: 500, headers: {}, body: nasty } })] },
        { ...run.results[3]!, message: nasty },
      ],
    };
    const xml = renderJunit(hostile);
    const { cases } = parse(xml);
    // The message round-trips except the characters XML 1.0 cannot carry, which are spelled out.
    const expected = `a<b & "c" 'd' \\x00\\x08\\x0b\\x1f\\ud800 tab\there`;
    expect(cases[0]!.failure!['@_message']).toBe(expected);
    expect(cases[0]!.failure!['#text']).toContain(expected);
    expect(cases[1]!.skipped!['@_message']).toBe(expected);
    // No raw control character at all in the document.
    expect(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(xml)).toBe(false);
  });

  it('redacts credentials', () => {
    const xml = renderJunit(sampleRun());
    for (const secret of SECRETS) expect(xml).not.toContain(secret);
  });

  it('is written by the reporter in onRunEnd, creating the folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cmcard-junit-'));
    try {
      const path = join(dir, 'ci', 'junit.xml');
      await play(junitReporter(path), sampleRun());
      expect(parse(await readFile(path, 'utf8')).cases).toHaveLength(5);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
