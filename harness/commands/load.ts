import type { Command } from 'commander';
import { InputError } from '../../simulator/errors.js';
import { EXIT, ExitError } from '../cli-support.js';
import { CmFormatError } from '../wire/decode.js';
import { TransportError } from '../wire/transport-error.js';
import { openSession } from '../config-client.js';
import { MAX_CONCURRENCY, MAX_CONNECTIONS, MAX_RATE, type StopRule } from '../load/engine.js';
import { renderLoadReport } from '../reporters/load-report.js';
import { runLoadSession, type LoadOutcome, type LoadShape } from '../load/session.js';
import { parseStages } from '../load/stages.js';
import { emptySummary, formatProgress, formatSummary } from '../load/summary.js';
import { parseThreshold, type Threshold } from '../load/thresholds.js';
import { preflight, ServerUnreachableError } from '../preflight.js';
import { parseReportSpec, prepareReportFiles } from '../reporters/index.js';
import { writeReportFile } from '../reporters/write-file.js';
import { parseHeaderFlags, parseTimeout, resolveTarget } from '../target.js';
import { VERSION } from '../version.js';

interface LoadFlags {
  server?: string;
  config?: string;
  concurrency?: string;
  rate?: string;
  connections?: string;
  stages?: string;
  threshold?: string[];
  abortOnFail?: boolean;
  duration?: string;
  exchanges?: string;
  json?: boolean;
  report?: string[];
  maxErrorRate?: string;
  timeout?: string;
  diversified?: boolean;
  header?: string[];
  warmup: string;
}

/** A run may not last longer than a day: "bounded" means a bound a person would pick. */
const MAX_DURATION_S = 86_400;

/** `cmcard load`: many virtual cards unlocking at once, every response checked by its card. */
export function registerLoad(program: Command): void {
  program
    .command('load')
    .description('load mode: concurrent unlock exchanges, every response verified by the card that asked')
    .option('--server <url>', "CM server origin (overrides the config file's; alone: the documented example card and the demo token)")
    .option('--config <file>', 'harness config file (docs/config.md): server, headers, TLS, cards')
    .option(
      '--concurrency <n>',
      `closed model: this many workers, each starting its next exchange when its last one ended (1-${MAX_CONCURRENCY}; required unless --rate or --stages)`,
    )
    .option(
      '--rate <n>',
      "open model: start this many exchanges per second on schedule, whether or not earlier ones ended; latency counts from each exchange's due time",
    )
    .option(
      '--connections <n>',
      `open model: the most exchanges in flight (1-${MAX_CONNECTIONS}); one due while all are busy is dropped (default: enough for 100 ms at the peak rate, at least 16)`,
    )
    .option(
      '--stages <list>',
      'ramp the rate (with --rate) or the workers through stages, e.g. 30s:100,2m:500,30s:0; from --rate/--concurrency or 0; replaces --duration/--exchanges',
    )
    .option('--duration <seconds>', 'run for this long (up to a day)')
    .option('--exchanges <n>', 'run exactly this many exchanges (open model: this many due)')
    .option(
      '--threshold <expr>',
      'fail (exit 1) unless it holds: p99<50, p95<=20ms, max<2s, errors<0.1%, errors<=10, wrong=0, dropped<1%, rate>=450; repeatable',
      (v: string, acc: string[] | undefined) => [...(acc ?? []), v],
    )
    .option('--abort-on-fail', 'stop early once a threshold (or the default rules) can no longer hold')
    .option('--json', 'print the summary as one JSON object on the last line of stdout')
    .option(
      '--report <fmt:path>',
      'also write html:PATH (latency histogram, latency and rate over time) or json:PATH; repeatable',
      (v: string, acc: string[] | undefined) => [...(acc ?? []), v],
    )
    .option('--max-error-rate <r>', 'fail (exit 1) when errors/exchanges is above this, 0..1 (default 0, unless an errors threshold is given)')
    .option('--timeout <ms>', "per-request timeout (default: the config's timeoutMs, else 5000)")
    .option('--warmup <seconds>', 'exchanges before the measured run, not counted (every response still verified)', '0')
    .option(
      '--header <name:value>',
      "send this header with every request, e.g. 'Authorization: Bearer ...' (repeatable; replaces a config header of the same name)",
      (v: string, acc: string[] | undefined) => [...(acc ?? []), v],
    )
    .option('--diversified', "ask for diversified=True and check with each card's diversified key")
    .addHelpText(
      'after',
      '\nExit codes: 0 all verified, error rate within bound and every threshold held, 1 a wrong cryptogram, too many errors or a breached threshold, 2 usage or config error, 3 server unreachable.\nWith neither --server nor --config it boots the embedded reference server on a loopback port.',
    )
    .action(async (flags: LoadFlags) => {
      process.exitCode = await loadCommand(flags);
    });
}

async function loadCommand(flags: LoadFlags): Promise<number> {
  const shape = loadShape(flags);
  const stop = shape.stages ? undefined : stopRule(flags);
  const maxErrorRate = flags.maxErrorRate === undefined ? undefined : fraction(flags.maxErrorRate, '--max-error-rate');
  const thresholds = (flags.threshold ?? []).map(threshold);
  const warmupMs = seconds(flags.warmup, '--warmup', 3600, true) * 1000;
  const timeoutMs = parseTimeout(flags.timeout);
  const reports = (flags.report ?? []).map((text) => {
    const spec = parseReportSpec(text);
    if (spec.format === 'junit') throw new InputError(`--report '${text}': load writes html or json, not junit`);
    return spec;
  });
  await prepareReportFiles(reports);

  const headers = parseHeaderFlags(flags.header);
  const { config, close } = await resolveTarget({
    ...(flags.server !== undefined ? { server: flags.server } : {}),
    ...(flags.config !== undefined ? { config: flags.config } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(headers ? { headers } : {}),
  });

  // A script reading the last line of --json output gets a summary even when nothing answered.
  const printJsonSummary = (summary: object): void => {
    if (flags.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  };
  // Credentials once for the run: Kerberos and NTLM then authenticate each connection once.
  const session = openSession(config);
  try {
    await preflight(session, config);
  } catch (err) {
    await session.close();
    await close();
    if (err instanceof ServerUnreachableError) printJsonSummary(emptySummary(shape.model));
    throw err;
  }

  const startedAt = new Date().toISOString();
  const aborter = new AbortController();
  const onSigint = (): void => aborter.abort();
  process.once('SIGINT', onSigint);
  const tty = process.stderr.isTTY === true;
  let outcome: LoadOutcome;
  try {
    outcome = await runLoadSession({
      config,
      session,
      shape,
      ...(stop ? { stop } : {}),
      diversified: flags.diversified === true,
      ...(maxErrorRate !== undefined ? { maxErrorRate } : {}),
      thresholds,
      abortOnFail: flags.abortOnFail === true,
      warmupMs,
      signal: aborter.signal,
      ...(tty ? { onProgress: (p) => process.stderr.write(`\r\x1b[2K${formatProgress(p)}`), progressEveryMs: 500 } : {}),
    });
  } catch (err) {
    if (err instanceof TransportError) throw new ServerUnreachableError(`server unreachable (${err.kind}): ${err.message}`);
    if (err instanceof CmFormatError) throw new ExitError(`the server's diversified key: ${err.message}`, EXIT.FAILED);
    throw err;
  } finally {
    process.off('SIGINT', onSigint);
    if (tty) process.stderr.write('\r\x1b[2K');
    await session.close();
    await close();
  }

  const { stats, summary, verdict } = outcome;
  let written = true;
  for (const spec of reports) {
    const format = spec.format === 'html' ? 'html' : 'json';
    const content = renderLoadReport(
      format,
      { server: config.server, startedAt, load: describeShape(shape, outcome.connections), tool: { name: 'cmcard', version: VERSION } },
      outcome,
    );
    try {
      await writeReportFile(spec.path, content);
    } catch (err) {
      written = false;
      process.stderr.write(
        `cmcard: the ${format} report (${spec.path}) could not be written: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}\n`,
      );
    }
  }

  if (verdict.exitCode === EXIT.UNREACHABLE) {
    printJsonSummary(summary);
    throw new ExitError(verdict.reason, EXIT.UNREACHABLE);
  }
  if (flags.json) printJsonSummary(summary);
  else
    process.stdout.write(
      `cmcard load: ${config.server}, ${outcome.cards.length} card(s), ${describeShape(shape, outcome.connections)}\n${formatSummary(stats, summary)}`,
    );
  if (verdict.exitCode !== EXIT.OK) process.stderr.write(`cmcard: load failed: ${verdict.reason}\n`);
  return verdict.exitCode === EXIT.OK && !written ? EXIT.FAILED : verdict.exitCode;
}

/** Closed or open model, constant or in stages; each flag checked against the others. */
function loadShape(flags: LoadFlags): LoadShape {
  const open = flags.rate !== undefined;
  if (open && flags.concurrency !== undefined) {
    throw new InputError("--concurrency is the closed model's worker count: with --rate (the open model) give --connections to cap the exchanges in flight");
  }
  if (!open && flags.connections !== undefined) {
    throw new InputError('--connections caps the open model (--rate N); in the closed model each of the --concurrency workers has its own connection');
  }
  const max = open ? MAX_RATE : MAX_CONCURRENCY;
  const stages = flags.stages === undefined ? undefined : rangeChecked(() => parseStages(flags.stages!, max));
  if (stages && stages.reduce((t, s) => t + s.durationMs, 0) > MAX_DURATION_S * 1000) {
    throw new InputError(`--stages: the stages last longer than a day (${MAX_DURATION_S} s) in all`);
  }
  if (stages && (flags.duration !== undefined || flags.exchanges !== undefined)) {
    throw new InputError('--stages sets how long the run lasts: give it without --duration or --exchanges');
  }
  if (open) {
    const rate = positive(flags.rate!, '--rate', MAX_RATE, stages !== undefined);
    const connections = flags.connections === undefined ? undefined : wholeNumber(flags.connections, '--connections', 1, MAX_CONNECTIONS);
    if (stages && rate === 0 && stages.every((s) => s.target === 0)) throw new InputError('--stages: the rate is 0 in every stage, so nothing would run');
    return { model: 'open', rate, ...(connections !== undefined ? { connections } : {}), ...(stages ? { stages } : {}) };
  }
  if (flags.concurrency === undefined && !stages) {
    throw new InputError(
      `--concurrency N is required: the number of workers (1-${MAX_CONCURRENCY}), each starting its next exchange when its last one ended; or give --rate N for the open model`,
    );
  }
  const concurrency = flags.concurrency === undefined ? undefined : wholeNumber(flags.concurrency, '--concurrency', stages ? 0 : 1, MAX_CONCURRENCY);
  if (stages && (concurrency ?? 0) < 1 && stages.every((s) => s.target < 1))
    throw new InputError('--stages: fewer than 1 worker in every stage, so nothing would run');
  return { model: 'closed', ...(concurrency !== undefined ? { concurrency } : {}), ...(stages ? { stages } : {}) };
}

/** One line saying what load was asked for. */
function describeShape(shape: LoadShape, connections: number): string {
  const stages = shape.stages ? `, stages ${shape.stages.map((s) => `${s.durationMs / 1000}s:${s.target}`).join(',')}` : '';
  if (shape.model === 'open') return `rate ${shape.rate ?? 0}/s (open model)${stages}, up to ${connections} connections`;
  return `${shape.concurrency !== undefined ? `concurrency ${shape.concurrency}` : 'closed model'}${stages}`;
}

function threshold(text: string): Threshold {
  return rangeChecked(() => parseThreshold(text));
}

/** A RangeError from a parser as a usage error (exit 2). */
function rangeChecked<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof RangeError) throw new InputError(err.message);
    throw err;
  }
}

function stopRule(flags: LoadFlags): StopRule {
  if ((flags.duration === undefined) === (flags.exchanges === undefined)) {
    throw new InputError('give exactly one of --duration SECONDS, --exchanges N or --stages LIST');
  }
  if (flags.exchanges !== undefined) return { exchanges: wholeNumber(flags.exchanges, '--exchanges', 1, Number.MAX_SAFE_INTEGER) };
  return { durationMs: seconds(flags.duration!, '--duration', MAX_DURATION_S, false) * 1000 };
}

function positive(text: string, flag: string, max: number, zeroAllowed: boolean): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0 || (n === 0 && !zeroAllowed) || n > max) {
    throw new InputError(`${flag} must be a number ${zeroAllowed ? 'from 0' : 'above 0'} and at most ${max}, got '${text}'`);
  }
  return n;
}

function seconds(text: string, flag: string, max: number, zeroAllowed: boolean): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0 || (n === 0 && !zeroAllowed) || n > max) {
    throw new InputError(`${flag} must be a number of seconds ${zeroAllowed ? 'from 0' : 'above 0'} and at most ${max}, got '${text}'`);
  }
  return n;
}

function wholeNumber(text: string, flag: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new InputError(`${flag} must be a whole number from ${min} to ${max}, got '${text}'`);
  }
  return n;
}

function fraction(text: string, flag: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1)
    throw new InputError(`${flag} must be a number from 0 to 1 (e.g. 0.01 for 1%), got '${text}'`);
  return n;
}
