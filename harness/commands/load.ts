import type { Command } from 'commander';
import { InputError } from '../../simulator/errors.js';
import { EXIT, ExitError } from '../cli-support.js';
import { CmFormatError } from '../wire/decode.js';
import { TransportError } from '../wire/transport-error.js';
import { openSession } from '../config-client.js';
import { MAX_CONCURRENCY, type StopRule } from '../load/engine.js';
import { renderLoadReport } from '../reporters/load-report.js';
import { runLoadSession, type LoadOutcome } from '../load/session.js';
import { emptySummary, formatProgress, formatSummary } from '../load/summary.js';
import { preflight, ServerUnreachableError } from '../preflight.js';
import { parseReportSpec, prepareReportFiles } from '../reporters/index.js';
import { writeReportFile } from '../reporters/write-file.js';
import { parseTimeout, resolveTarget } from '../target.js';
import { VERSION } from '../version.js';

interface LoadFlags {
  server?: string;
  config?: string;
  concurrency: string;
  duration?: string;
  exchanges?: string;
  json?: boolean;
  report?: string[];
  maxErrorRate: string;
  timeout?: string;
  diversified?: boolean;
  warmup: string;
}

/** A run may not last longer than a day: "bounded" means a bound a person would pick. */
const MAX_DURATION_S = 86_400;

/** `cmcard load`: many virtual cards unlocking at once, every response checked by its card. */
export function registerLoad(program: Command): void {
  program
    .command('load')
    .description('load mode: concurrent unlock exchanges, every response verified by the card that asked')
    .option('--server <url>', 'CM server origin (overrides the config file\'s; alone: the documented example card and the demo token)')
    .option('--config <file>', 'harness config file (SPEC section 4): server, headers, TLS, cards')
    .requiredOption('--concurrency <n>', `concurrent workers (1-${MAX_CONCURRENCY})`)
    .option('--duration <seconds>', 'run for this long (up to a day)')
    .option('--exchanges <n>', 'run exactly this many exchanges')
    .option('--json', 'print the summary as one JSON object on the last line of stdout')
    .option('--report <fmt:path>', 'also write html:PATH (latency histogram) or json:PATH; repeatable', (v: string, acc: string[] | undefined) => [...(acc ?? []), v])
    .option('--max-error-rate <r>', 'fail (exit 1) when errors/exchanges is above this, 0..1', '0')
    .option('--timeout <ms>', 'per-request timeout (default: the config\'s timeoutMs, else 5000)')
    .option('--warmup <seconds>', 'exchanges before the measured run, not counted (every response still verified)', '0')
    .option('--diversified', 'ask for diversified=True and check with each card\'s diversified key')
    .addHelpText('after', '\nExit codes: 0 all verified and error rate within bound, 1 a wrong cryptogram or too many errors, 2 usage or config error, 3 server unreachable.\nWith neither --server nor --config it boots the embedded reference server on a loopback port.')
    .action(async (flags: LoadFlags) => {
      process.exitCode = await loadCommand(flags);
    });
}

async function loadCommand(flags: LoadFlags): Promise<number> {
  const concurrency = wholeNumber(flags.concurrency, '--concurrency', 1, MAX_CONCURRENCY);
  const stop = stopRule(flags);
  const maxErrorRate = fraction(flags.maxErrorRate, '--max-error-rate');
  const warmupMs = seconds(flags.warmup, '--warmup', 3600, true) * 1000;
  const timeoutMs = parseTimeout(flags.timeout);
  const reports = (flags.report ?? []).map((text) => {
    const spec = parseReportSpec(text);
    if (spec.format === 'junit') throw new InputError(`--report '${text}': load writes html or json, not junit`);
    return spec;
  });
  await prepareReportFiles(reports);

  const { config, close } = await resolveTarget({
    ...(flags.server !== undefined ? { server: flags.server } : {}),
    ...(flags.config !== undefined ? { config: flags.config } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  });

  // A script reading the last line of --json output gets a summary even when nothing answered.
  const printJsonSummary = (summary: object): void => {
    if (flags.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  };
  const session = openSession(config);
  try {
    await preflight(session, config);
  } catch (err) {
    await session.close();
    await close();
    if (err instanceof ServerUnreachableError) printJsonSummary(emptySummary());
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
      concurrency,
      stop,
      diversified: flags.diversified === true,
      maxErrorRate,
      warmupMs,
      signal: aborter.signal,
      ...(tty ? { onProgress: (stats, elapsedMs) => process.stderr.write(`\r\x1b[2K${formatProgress(stats, elapsedMs)}`), progressEveryMs: 500 } : {}),
    });
  } catch (err) {
    if (err instanceof TransportError) throw new ServerUnreachableError(`server unreachable (${err.kind}): ${err.message}`);
    if (err instanceof CmFormatError) throw new ExitError(`the server's diversified key: ${err.message}`, EXIT.FAILED);
    throw err;
  } finally {
    process.off('SIGINT', onSigint);
    if (tty) process.stderr.write('\r\x1b[2K');
    await close();
  }

  const { stats, summary, verdict } = outcome;
  let written = true;
  for (const spec of reports) {
    const format = spec.format === 'html' ? 'html' : 'json';
    const content = renderLoadReport(format, { server: config.server, startedAt, concurrency, tool: { name: 'cmcard', version: VERSION } }, outcome);
    try {
      await writeReportFile(spec.path, content);
    } catch (err) {
      written = false;
      process.stderr.write(`cmcard: the ${format} report (${spec.path}) could not be written: ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}\n`);
    }
  }

  if (verdict.exitCode === EXIT.UNREACHABLE) {
    printJsonSummary(summary);
    throw new ExitError(verdict.reason, EXIT.UNREACHABLE);
  }
  if (flags.json) printJsonSummary(summary);
  else process.stdout.write(`cmcard load: ${config.server}, ${outcome.cards.length} card(s), concurrency ${concurrency}\n${formatSummary(stats, summary)}`);
  if (verdict.exitCode !== EXIT.OK) process.stderr.write(`cmcard: load failed: ${verdict.reason}\n`);
  return verdict.exitCode === EXIT.OK && !written ? EXIT.FAILED : verdict.exitCode;
}

function stopRule(flags: LoadFlags): StopRule {
  if ((flags.duration === undefined) === (flags.exchanges === undefined)) {
    throw new InputError('give exactly one of --duration SECONDS or --exchanges N');
  }
  if (flags.exchanges !== undefined) return { exchanges: wholeNumber(flags.exchanges, '--exchanges', 1, Number.MAX_SAFE_INTEGER) };
  return { durationMs: seconds(flags.duration!, '--duration', MAX_DURATION_S, false) * 1000 };
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
  if (text.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new InputError(`${flag} must be a number from 0 to 1 (e.g. 0.01 for 1%), got '${text}'`);
  return n;
}
