import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonReporter, renderJson } from '../../../harness/reporters/json.js';
import { failedRun, play, sampleRun, SECRETS } from './fixtures.js';

const SCHEMA_PATH = resolve(import.meta.dirname, '../../../harness/reporters/report.schema.json');

let validate: (data: unknown) => boolean;
let errors: () => string;
let dir: string;

beforeAll(async () => {
  const schema = JSON.parse(await readFile(SCHEMA_PATH, 'utf8')) as object;
  // strictRequired would flag the `anyOf: [{required: [response]}, {required: [error]}]` branches,
  // whose properties are declared one level up: valid JSON Schema.
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
  addFormats.default(ajv);
  const check = ajv.compile(schema);
  validate = (data) => check(data) as boolean;
  errors = () => ajv.errorsText(check.errors);
  dir = await mkdtemp(join(tmpdir(), 'cmcard-json-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const rendered = (): Record<string, unknown> => JSON.parse(renderJson(sampleRun())) as Record<string, unknown>;

describe('JSON report (docs/report.md)', () => {
  it('is valid against report.schema.json', () => {
    const ok = validate(rendered());
    expect(ok, errors()).toBe(true);
  });

  it('has the fields of the spec in its order, results as cases', () => {
    const report = rendered();
    expect(Object.keys(report)).toEqual(['schema', 'tool', 'server', 'startedAt', 'durationMs', 'summary', 'cases']);
    expect(report.schema).toBe('cmcard/conformance-report@1');
    expect(report.summary).toEqual({ passed: 2, failed: 1, warnings: 1, skipped: 1 });
    const cases = report.cases as Array<Record<string, unknown>>;
    expect(cases.map((c) => c.id)).toEqual(sampleRun().results.map((r) => r.id));
    expect(Object.keys(cases[0]!)).toEqual(['id', 'title', 'level', 'outcome', 'message', 'durationMs', 'exchanges']);
  });

  it("carries the failing exchange's mark, why and reproduction, and the run's notes: optional fields, still valid", () => {
    const report = JSON.parse(renderJson(failedRun())) as Record<string, any>;
    expect(validate(report), errors()).toBe(true);
    expect(Object.keys(report)).toEqual(['schema', 'tool', 'server', 'startedAt', 'durationMs', 'summary', 'cases', 'notes']);
    const [first, second] = report.cases[1].exchanges;
    expect(Object.keys(first)).toEqual(['request', 'response', 'durationMs', 'failed', 'why', 'reproduce']);
    expect(first).toMatchObject({ failed: true, why: 'the body is bare base64, without the JSON string quotes', reproduce: expect.stringMatching(/^curl /) });
    expect(second).not.toHaveProperty('failed');
    expect(report.notes).toHaveLength(1);
  });

  it('keeps an exchange without response with its error and no response key', () => {
    const cases = rendered().cases as Array<{ id: string; exchanges: Array<Record<string, unknown>> }>;
    const timedOut = cases.find((c) => c.id === 'input.malformed-challenge')!.exchanges[0]!;
    expect(timedOut.error).toBe('timeout after 5000 ms');
    expect(timedOut).not.toHaveProperty('response');
  });

  it('redacts credentials in request and response headers', () => {
    const text = renderJson(sampleRun());
    for (const secret of SECRETS) expect(text).not.toContain(secret);
    expect(text).toContain('"Authorization": "Bearer [redacted]"');
  });

  it('is written by the reporter in onRunEnd, creating the folder', async () => {
    const path = join(dir, 'nested', 'deeper', 'report.json');
    const reporter = jsonReporter(path);
    await play(reporter, sampleRun());
    const written = JSON.parse(await readFile(path, 'utf8')) as unknown;
    expect(validate(written), errors()).toBe(true);
  });
});

describe('report.schema.json rejects a broken report', () => {
  const breakages: Array<[string, (r: Record<string, any>) => void]> = [
    ['wrong schema tag', (r) => (r.schema = 'cmcard/conformance-report@2')],
    ['missing summary', (r) => delete r.summary],
    ['negative count', (r) => (r.summary.passed = -1)],
    ['unknown top-level key', (r) => (r.extra = true)],
    ['unknown outcome', (r) => (r.cases[0].outcome = 'error')],
    ['unknown level', (r) => (r.cases[0].level = 'MUSTNT')],
    ['failed SHOULD case (that is a warning)', (r) => (r.cases[2].outcome = 'failed')],
    ['warning on a MUST case (that is a failure)', (r) => (r.cases[1].outcome = 'warning')],
    ['exchange with neither response nor error', (r) => delete r.cases[2].exchanges[0].error],
    ['status out of range', (r) => (r.cases[0].exchanges[0].response.status = 99)],
    ['non-string header value', (r) => (r.cases[0].exchanges[0].request.headers.Accept = 1)],
    ['startedAt not a date-time', (r) => (r.startedAt = 'yesterday')],
    ['case without message', (r) => delete r.cases[0].message],
    ['why on an exchange that is not marked failed', (r) => (r.cases[0].exchanges[0].why = 'x')],
    ['failed: false (absent means not failed)', (r) => (r.cases[0].exchanges[0].failed = false)],
    ['notes that are not strings', (r) => (r.notes = [1])],
  ];
  it.each(breakages)('%s', (_name, breakIt) => {
    const report = rendered();
    breakIt(report);
    expect(validate(report)).toBe(false);
  });
});
