import type { Command } from 'commander';
import { InputError } from '../../simulator/errors.js';
import { CATALOGUE } from '../cases/index.js';
import { EXIT } from '../cli-support.js';
import { openSession } from '../config-client.js';
import { preflight } from '../preflight.js';
import { createReporter, parseReportSpec, prepareReportFiles } from '../reporters/index.js';
import { exitCodeFor, runConformance, selectCases } from '../runner.js';
import { parseTimeout, resolveTarget } from '../target.js';

interface ConformanceFlags {
  server?: string;
  config?: string;
  report?: string[];
  grep?: string;
  timeout?: string;
}

/** `cmcard conformance`: the case catalogue against a server (default: the embedded one). */
export function registerConformance(program: Command): void {
  program
    .command('conformance')
    .description('run the conformance suite against a CM server (default: the embedded reference server)')
    .option('--server <url>', 'server origin, e.g. https://cm.contoso.com (overrides the config file\'s server)')
    .option('--config <file>', 'harness config file (SPEC section 4): cards, keys, headers, TLS')
    .option('--report <fmt:path>', 'also write a report: json:PATH, junit:PATH or html:PATH (repeatable)', (v: string, acc: string[] | undefined) => [...(acc ?? []), v])
    .option('--grep <regex>', 'run only the cases whose id matches')
    .option('--timeout <ms>', 'per-request timeout in milliseconds (default: the config\'s timeoutMs, or 5000)')
    .addHelpText('after', '\nExit codes: 0 no MUST case failed, 1 a MUST case failed or a report could not be written, 2 usage or config error, 3 server unreachable.')
    .action(async (flags: ConformanceFlags) => {
      const specs = (flags.report ?? []).map(parseReportSpec);
      const grep = parseGrep(flags.grep);
      if (grep && selectCases(CATALOGUE, grep).length === 0) {
        throw new InputError(`--grep '${flags.grep}' matches no case id (ids look like response.correct, auth.anonymous)`);
      }
      const timeoutMs = parseTimeout(flags.timeout);
      const target = await resolveTarget({ ...flags, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
      try {
        // Usage errors first (exit 2), then the server (exit 3), then the run.
        await prepareReportFiles(specs);
        const probe = openSession(target.config);
        try {
          await preflight(probe, target.config);
        } finally {
          await probe.close();
        }
        const reporter = createReporter(specs, { console: true });
        const report = await runConformance({
          config: target.config,
          reporter,
          ...(grep ? { grep } : {}),
          tool: { name: 'cmcard', version: program.version() ?? 'unknown' },
        });
        // A report that was not written (named on stderr by the reporter) is not a clean run.
        process.exitCode = exitCodeFor(report) === 0 && reporter.dropped.length === 0 ? EXIT.OK : EXIT.FAILED;
      } finally {
        await target.close();
      }
    });
}

function parseGrep(text: string | undefined): RegExp | undefined {
  if (text === undefined) return undefined;
  try {
    return new RegExp(text);
  } catch (err) {
    throw new InputError(`--grep '${text}' is not a valid regular expression (${(err as Error).message})`);
  }
}
