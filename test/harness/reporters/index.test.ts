import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createReporter, parseReportSpec, prepareReportFiles } from '../../../harness/reporters/index.js';
import { InputError } from '../../../simulator/errors.js';
import { memoryStream, play, sampleRun } from './fixtures.js';

describe('parseReportSpec', () => {
  it('reads FMT:PATH for each format, keeping colons in the path', () => {
    expect(parseReportSpec('json:out/report.json')).toEqual({ format: 'json', path: 'out/report.json' });
    expect(parseReportSpec('junit:reports/junit.xml')).toEqual({ format: 'junit', path: 'reports/junit.xml' });
    expect(parseReportSpec('HTML:C:\\reports\\r.html')).toEqual({ format: 'html', path: 'C:\\reports\\r.html' });
  });

  it.each([
    ['report.json', /--report expects FMT:PATH with FMT one of json, junit or html, got 'report.json'/],
    ['xml:out.xml', /unknown format 'xml', use json, junit or html/],
    [':out.json', /unknown format '', use json, junit or html/],
    ['json:', /the path after 'json:' is empty/],
    ['json:   ', /the path after 'json:' is empty/],
  ])('refuses %j with an InputError that names it', (text, message) => {
    expect(() => parseReportSpec(text)).toThrow(InputError);
    expect(() => parseReportSpec(text)).toThrow(message);
  });
});

describe('createReporter', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cmcard-reporters-'));
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes every requested file in onRunEnd (folders created) and prints the console report', async () => {
    const stream = memoryStream();
    const paths = { json: join(dir, 'a', 'r.json'), junit: join(dir, 'b', 'c', 'r.xml'), html: join(dir, 'r.html') };
    const reporter = createReporter([parseReportSpec(`json:${paths.json}`), parseReportSpec(`junit:${paths.junit}`), parseReportSpec(`html:${paths.html}`)], {
      console: true,
      stream: stream as unknown as NodeJS.WriteStream,
      tty: false,
    });
    const run = sampleRun();
    const { durationMs: _d, summary: _s, results: _r, ...info } = run;
    reporter.onRunStart?.(info);
    await expect(readFile(paths.json)).rejects.toThrow(/ENOENT/);
    await play({ ...reporter, onRunStart: undefined }, run);
    expect(JSON.parse(await readFile(paths.json, 'utf8'))).toMatchObject({ schema: 'cmcard/conformance-report@1', summary: run.summary });
    expect(await readFile(paths.junit, 'utf8')).toContain('<testcase classname="MUST" name="response.correct"');
    expect(await readFile(paths.html, 'utf8')).toContain('<!DOCTYPE html>');
    expect(stream.text()).toContain('2 passed, 1 failed, 1 warning, 1 skipped in 812 ms');
  });

  it('writes nothing to the console with console: false', async () => {
    const stream = memoryStream();
    const reporter = createReporter([], { console: false, stream: stream as unknown as NodeJS.WriteStream });
    await play(reporter, sampleRun());
    expect(stream.text()).toBe('');
  });

  it('refuses two reports aimed at the same file, before the run (a usage error)', async () => {
    await expect(
      prepareReportFiles([
        { format: 'json', path: join(dir, 'r') },
        { format: 'html', path: join(dir, '.', 'r') },
      ]),
    ).rejects.toThrow(expect.objectContaining({ constructor: InputError, message: expect.stringMatching(/would write the same file/) }));
  });

  it('checks before the run that every report path can be written: folders made, nothing left behind', async () => {
    const blocker = join(dir, 'blocker-file');
    await writeFile(blocker, 'x');
    await expect(prepareReportFiles([{ format: 'junit', path: join(blocker, 'r.xml') }])).rejects.toThrow(
      expect.objectContaining({
        constructor: InputError,
        message: expect.stringMatching(/^--report junit:.*blocker-file\/r\.xml: cannot write .*\((ENOTDIR|EEXIST)\)$/),
      }),
    );
    await expect(prepareReportFiles([{ format: 'html', path: dir }])).rejects.toThrow(/cannot write .*\(EISDIR\)/);
    const nested = join(dir, 'made', 'for', 'it');
    await prepareReportFiles([{ format: 'json', path: join(nested, 'r.json') }]);
    expect(await readdir(nested)).toEqual([]);
  });

  // Node's recursive mkdir never returns there (ENOENT for the child, EEXIST for /proc, forever).
  it.skipIf(!existsSync('/proc/self'))('ends with a usage error where a folder cannot be made although its parent exists (/proc/nope)', async () => {
    await expect(prepareReportFiles([{ format: 'junit', path: '/proc/nope/r.xml' }])).rejects.toThrow(
      expect.objectContaining({ constructor: InputError, message: '--report junit:/proc/nope/r.xml: cannot write /proc/nope/r.xml (ENOENT)' }),
    );
  });

  it('reports a file it cannot write on stderr once, and the console and other files still finish', async () => {
    const blocker = join(dir, 'not-a-folder');
    await writeFile(blocker, 'x');
    const stderr: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr.push(String(chunk));
      return true;
    });
    const stream = memoryStream();
    const good = join(dir, 'ok.xml');
    const reporter = createReporter(
      [
        { format: 'json', path: join(blocker, 'r.json') },
        { format: 'junit', path: good },
      ],
      { console: true, stream: stream as unknown as NodeJS.WriteStream, tty: false },
    );
    expect(reporter.dropped).toEqual([]);
    await play(reporter, sampleRun());
    // Named, so the command can end non-zero: a run without its report is not clean.
    expect(reporter.dropped).toEqual([`the json report (${join(blocker, 'r.json')})`]);
    expect(stderr).toHaveLength(1);
    expect(stderr[0]).toMatch(/^cmcard: the json report \(.*not-a-folder\/r\.json\) failed in onRunEnd and was dropped: .*(ENOTDIR|EEXIST)/);
    expect(await readFile(good, 'utf8')).toContain('<testsuites');
    expect(stream.text()).toContain('in 812 ms');
  });

  it('uses colour on a TTY only without NO_COLOR', async () => {
    const run = async (env: string | undefined, tty: boolean): Promise<string> => {
      vi.stubEnv('NO_COLOR', env);
      const stream = memoryStream(120);
      await play(createReporter([], { console: true, stream: stream as unknown as NodeJS.WriteStream, tty }), sampleRun());
      vi.unstubAllEnvs();
      return stream.text();
    };
    expect(await run(undefined, true)).toContain('\u001b[31mFAIL');
    expect(await run('1', true)).not.toContain('\u001b[31m');
    expect(await run(undefined, false)).not.toContain('\u001b[');
  });
});
