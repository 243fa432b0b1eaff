import type { Command } from 'commander';
import { InputError } from '../../simulator/errors.js';
import { CATALOGUE, NEED_TEXT, type ConformanceCase } from '../cases/index.js';
import { EXIT } from '../cli-support.js';
import { openSession } from '../config-client.js';
import { preflight } from '../preflight.js';
import { createReporter, parseReportSpec, prepareReportFiles } from '../reporters/index.js';
import { exitCodeFor, runConformance, selectCases } from '../runner.js';
import { parseHeaderFlags, parseTimeout, resolveTarget } from '../target.js';

interface ConformanceFlags {
  server?: string;
  config?: string;
  report?: string[];
  grep?: string;
  skip?: string;
  timeout?: string;
  header?: string[];
  strict?: boolean;
  list?: boolean;
}

const repeatable = (v: string, acc: string[] | undefined): string[] => [...(acc ?? []), v];

/** `cmcard conformance`: the case catalogue against a server (default: the embedded one). */
export function registerConformance(program: Command): void {
  program
    .command('conformance')
    .description('run the conformance suite against a CM server (default: the embedded reference server)')
    .option('--server <url>', "server origin, e.g. https://cm.contoso.com (overrides the config file's server)")
    .option('--config <file>', 'harness config file (docs/config.md): cards, keys, headers, TLS')
    .option('--report <fmt:path>', 'also write a report: json:PATH, junit:PATH or html:PATH (repeatable)', repeatable)
    .option('--grep <regex>', 'run only the cases whose id matches')
    .option('--skip <regex>', 'leave out the cases whose id matches')
    .option(
      '--header <name:value>',
      "send this header with the configured caller's requests, e.g. 'Authorization: Bearer ...' (repeatable; replaces a config header of the same name)",
      repeatable,
    )
    .option('--timeout <ms>', "per-request timeout in milliseconds (default: the config's timeoutMs, or 5000)")
    .option('--strict', 'a warning (a SHOULD or MAY case that did not hold) fails the run too (exit 1)')
    .option('--list', 'list the cases (id, level, title, what each needs from the config) and exit without running any')
    .addHelpText(
      'after',
      '\nExit codes: 0 no MUST case failed, 1 a MUST case failed (with --strict also a warning) or a report could not be written, 2 usage or config error, 3 server unreachable.',
    )
    .action(async (flags: ConformanceFlags) => {
      const grep = parseRegex('--grep', flags.grep);
      const skip = parseRegex('--skip', flags.skip);
      const selected = selectCases(CATALOGUE, grep, skip);
      if (selected.length === 0) {
        const which = [flags.grep !== undefined ? `--grep '${flags.grep}'` : '', flags.skip !== undefined ? `--skip '${flags.skip}'` : '']
          .filter(Boolean)
          .join(' with ');
        throw new InputError(
          `${which} ${flags.skip !== undefined ? 'leaves no case to run' : 'matches no case id'} (ids look like response.correct, auth.anonymous)`,
        );
      }
      if (flags.list) {
        process.stdout.write(listCases(selected));
        return;
      }
      const specs = (flags.report ?? []).map(parseReportSpec);
      const headers = parseHeaderFlags(flags.header);
      const timeoutMs = parseTimeout(flags.timeout);
      const target = await resolveTarget({ ...flags, ...(timeoutMs !== undefined ? { timeoutMs } : {}), ...(headers ? { headers } : {}) });
      try {
        // Usage errors first (exit 2), then the server (exit 3), then the run.
        await prepareReportFiles(specs);
        // One session for the probe and the run: its connections and credentials (a fetched token) carry over.
        const session = openSession(target.config);
        try {
          await preflight(session, target.config);
          const reporter = createReporter(specs, { console: true });
          const report = await runConformance({
            config: target.config,
            reporter,
            cases: selected,
            session,
            tool: { name: 'cmcard', version: program.version() ?? 'unknown' },
          });
          // A report that was not written (named on stderr by the reporter) is not a clean run.
          process.exitCode = exitCodeFor(report, { strict: flags.strict === true }) === 0 && reporter.dropped.length === 0 ? EXIT.OK : EXIT.FAILED;
        } finally {
          await session.close();
        }
      } finally {
        await target.close();
      }
    });
}

/** One line per case: level, id, title, and what it needs from the config. */
export function listCases(cases: readonly ConformanceCase[]): string {
  const idWidth = Math.max(...cases.map((c) => c.id.length));
  return cases
    .map((c) => {
      const needs = c.needs?.length ? `  (needs ${c.needs.map((n) => NEED_TEXT[n]).join(', ')})` : '';
      return `${c.level.padEnd(8)}${c.id.padEnd(idWidth)}  ${c.title}${needs}\n`;
    })
    .join('');
}

function parseRegex(flag: string, text: string | undefined): RegExp | undefined {
  if (text === undefined) return undefined;
  try {
    return new RegExp(text);
  } catch (err) {
    throw new InputError(`${flag} '${text}' is not a valid regular expression (${(err as Error).message})`);
  }
}
