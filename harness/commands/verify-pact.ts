import { stripVTControlCharacters } from 'node:util';
import type { Command } from 'commander';
import { committedPactPath, readPact } from '../../contracts/pact-file.js';
import { checkChoice } from '../../contracts/select.js';
import { verifyPact, VerifyRunError, type InteractionResult, type VerifyResult } from '../../contracts/verify.js';
import { PROVIDER_STATES_PATH, startReferenceServer } from '../../reference-server/index.js';
import { InputError } from '../../simulator/errors.js';
import { EXIT, ExitError } from '../cli-support.js';
import { loadConfig } from '../config.js';
import { openSession, type CmSession } from '../config-client.js';
import { ensureReachable, preflight } from '../preflight.js';
import { CALLER_HEADER, startAuthProxy, type AuthProxy } from '../wire/auth-proxy.js';
import { parseTimeout } from '../target.js';

interface VerifyPactFlags {
  server?: string;
  config?: string;
  statesUrl?: string;
  pact?: string;
  header?: string[];
  forbiddenHeader?: string[];
  timeout?: string;
  only?: string[];
  skip?: string[];
  onlyTag?: string[];
  skipTag?: string[];
  documentedExample?: boolean;
}

const collect = (v: string, acc: string[] | undefined): string[] => [...(acc ?? []), v];

/** `cmcard verify-pact`: Pact provider verification of the committed pact (default: against the embedded reference server). */
export function registerVerifyPact(program: Command): void {
  program
    .command('verify-pact')
    .description('verify a CM server against the committed Pact contract (default: the embedded reference server)')
    .option('--server <url>', 'provider origin, e.g. http://127.0.0.1:8080 (default: start the embedded reference server)')
    .option(
      '--config <file>',
      'harness config file: server, auth/forbiddenAuth (Kerberos, NTLM, OAuth 2) or headers; the verifier then talks to the server through a loopback proxy that authenticates each caller (docs/real-cm.md)',
    )
    .option('--states-url <url>', 'Pact state-change URL (POST {state, params, action}); without it, interactions that need a state are skipped')
    .option('--pact <file>', 'pact file (default: the committed contracts/pacts/cmcard-mim-cm.json)')
    .option(
      '--header <name:value>',
      "send instead of the pact's help-desk credentials (repeatable; also sent with those interactions' state-change calls), e.g. 'Authorization: Negotiate ...'",
      collect,
    )
    .option(
      '--forbidden-header <name:value>',
      "send instead of the pact's no-rights caller credentials (repeatable; also sent with its state-change calls)",
      collect,
    )
    .option('--timeout <ms>', 'per-request timeout in milliseconds (default 10000)')
    .option('--only <regex>', 'verify only the interactions whose description matches (case-insensitive; repeatable: any of them)', collect)
    .option('--skip <regex>', 'leave out the interactions whose description matches (case-insensitive; repeatable)', collect)
    .option('--only-tag <tag>', 'verify only the interactions the pact tags so (repeatable: any of them)', collect)
    .option('--skip-tag <tag>', 'leave out the interactions the pact tags so, e.g. lifecycle: create, read and complete a request (repeatable)', collect)
    .option(
      '--documented-example',
      "the server holds Microsoft's documented example card (request a9b4b42c-..., all-zero default key, the documented diversified key): its interactions run without --states-url",
    )
    .addHelpText(
      'after',
      "\nPrints the verifier's report, then one line per interaction and a summary. PASS: the verifier verified it;" +
        ' FAIL: it did and the server answered otherwise; SKIP: not verified, with the reason (not chosen, a provider state' +
        " or caller the run cannot set up, or left out by Pact's own PACT_DESCRIPTION, PACT_PROVIDER_STATE or PACT_PROVIDER_NO_STATE)." +
        '\nExit codes: 0 something verified and nothing failed, 1 an interaction failed or nothing was verified' +
        ' or the verifier could not run, 2 usage error, 3 server unreachable.',
    )
    .action(async (flags: VerifyPactFlags) => {
      const timeoutMs = parseTimeout(flags.timeout) ?? DEFAULT_VERIFY_TIMEOUT_MS;
      const headers = parseHeaders(flags.header, '--header');
      const forbiddenHeaders = parseHeaders(flags.forbiddenHeader, '--forbidden-header');
      if (flags.config !== undefined && (headers || forbiddenHeaders)) {
        throw new InputError(
          '--header and --forbidden-header go without --config: put the credentials in the config file (headers, auth, forbiddenHeaders, forbiddenAuth)',
        );
      }
      if (flags.statesUrl !== undefined && flags.server === undefined && flags.config === undefined) {
        throw new InputError('--states-url needs --server (the embedded reference server brings its own state endpoint)');
      }
      if (flags.documentedExample && flags.statesUrl !== undefined) {
        throw new InputError('--documented-example is for a server without a state-change URL: with --states-url every provider state is set up');
      }
      if (flags.documentedExample && flags.server === undefined && flags.config === undefined) {
        throw new InputError('--documented-example needs --server or --config (the embedded reference server brings its own state endpoint)');
      }
      const choice = {
        ...(flags.only ? { only: flags.only.map((p) => parsePattern(p, '--only')) } : {}),
        ...(flags.skip ? { skip: flags.skip.map((p) => parsePattern(p, '--skip')) } : {}),
        ...(flags.onlyTag ? { onlyTags: flags.onlyTag } : {}),
        ...(flags.skipTag ? { skipTags: flags.skipTag } : {}),
      };
      // A bad pact file or a choice that selects nothing is a usage error before anything starts.
      checkChoice(readPact(flags.pact ?? committedPactPath()), choice);
      const config =
        flags.config !== undefined ? loadConfig(flags.config, { ...(flags.server !== undefined ? { server: flags.server } : {}), timeoutMs }) : undefined;
      const embedded =
        flags.server === undefined && config === undefined
          ? await startReferenceServer({ host: '127.0.0.1', port: 0, providerStates: true, quiet: true })
          : undefined;
      let session: CmSession | undefined;
      let proxy: AuthProxy | undefined;
      try {
        const server = embedded?.url ?? config?.server ?? flags.server!;
        const statesUrl = embedded ? `${embedded.url}${PROVIDER_STATES_PATH}` : flags.statesUrl;
        if (config) {
          session = openSession(config);
          await preflight(session, config);
          proxy = await startAuthProxy(session.options);
        } else {
          await reachable(server, timeoutMs);
        }
        let result: VerifyResult;
        try {
          result = await verifyPact({
            server: proxy?.url ?? server,
            ...(statesUrl !== undefined ? { statesUrl } : {}),
            ...(flags.pact !== undefined ? { pactFile: flags.pact } : {}),
            ...choice,
            ...(flags.documentedExample ? { documentedExample: true } : {}),
            // Through the proxy, the verifier names the caller and the proxy attaches its credentials.
            ...(proxy ? { headers: { [CALLER_HEADER]: 'rights' } } : {}),
            ...(proxy && (config?.forbiddenHeaders || config?.forbiddenAuth) ? { forbiddenHeaders: { [CALLER_HEADER]: 'forbidden' } } : {}),
            ...(!proxy && headers ? { headers } : {}),
            ...(!proxy && forbiddenHeaders ? { forbiddenHeaders } : {}),
            timeoutMs,
            // https://no-color.org: any non-empty NO_COLOR turns colour off; a pipe or file never gets it.
            colour: process.stdout.isTTY === true && !process.env.NO_COLOR,
            onReport: (text) => process.stdout.write(text),
          });
        } catch (err) {
          if (!(err instanceof VerifyRunError)) throw err;
          // Not a verdict on the server: if it went away during the run that is exit 3,
          // else the verifier itself broke, which is no pass either (exit 1).
          await reachable(server, timeoutMs);
          throw new ExitError(`${err.message} (no verdict on the server)`, EXIT.FAILED);
        }
        process.stdout.write(formatResult(result, embedded ? `embedded reference server ${server}` : server));
        const { passed, failed } = result.summary;
        if (failed > 0) process.exitCode = EXIT.FAILED;
        else if (passed === 0)
          throw new ExitError(`nothing was verified: every interaction was skipped, so this is no pass (${nothingVerifiedHint(result)})`, EXIT.FAILED);
        else process.exitCode = EXIT.OK;
      } finally {
        await proxy?.close();
        await session?.close();
        await embedded?.close();
      }
    });
}

/**
 * One line per interaction, mismatches indented under a failure, then the summary. Plain text:
 * control characters (a server's ANSI codes quoted in a mismatch, say) are taken out.
 */
export function formatResult(result: VerifyResult, target: string): string {
  const label: Record<InteractionResult['outcome'], string> = { passed: 'PASS', failed: 'FAIL', skipped: 'SKIP' };
  const lines = ['', `Pact ${result.pactFile} against ${target}:`];
  for (const r of result.results) {
    lines.push(`  ${label[r.outcome]}  ${r.description}${r.outcome === 'skipped' ? ` (${r.message})` : ''}`);
    if (r.outcome === 'failed') for (const m of r.message.split('\n')) lines.push(`          ${m}`);
  }
  const { passed, failed, skipped } = result.summary;
  lines.push(`${result.results.length} interactions: ${passed} passed, ${failed} failed, ${skipped} skipped`);
  if (passed + failed === 0) lines.push('Nothing was verified: every interaction was skipped (see the reasons above).');
  return `${lines.map((l) => stripVTControlCharacters(l)).join('\n')}\n`;
}

/** What to do about a run where everything was skipped, from the reasons given. */
function nothingVerifiedHint(result: VerifyResult): string {
  const reasons = result.results.map((r) => r.message);
  if (reasons.some((m) => m.startsWith('needs provider state'))) {
    return 'give --states-url for interactions with provider states, or --documented-example for a server that holds the documented example card';
  }
  if (reasons.some((m) => m.startsWith('not run by the verifier'))) return "Pact's own filter variables left out the rest: see the SKIP reasons";
  return 'see the SKIP reasons';
}

/** --only, --skip: a regular expression, matched case-insensitively against descriptions. */
function parsePattern(text: string, flag: string): RegExp {
  try {
    return new RegExp(text, 'i');
  } catch (err) {
    throw new InputError(`${flag} '${text}' is not a valid regular expression (${(err as Error).message})`);
  }
}

const DEFAULT_VERIFY_TIMEOUT_MS = 10_000;

/** Exit 3 with one line when nothing answers, rather than a failure per interaction. */
async function reachable(server: string, timeoutMs: number): Promise<void> {
  try {
    await ensureReachable({ server, timeoutMs });
  } catch (err) {
    if (err instanceof InputError) throw new InputError(`--server: ${err.message}`);
    throw err;
  }
}

function parseHeaders(values: string[] | undefined, flag: string): Record<string, string> | undefined {
  if (values === undefined) return undefined;
  const headers: Record<string, string> = {};
  for (const v of values) {
    const i = v.indexOf(':');
    const name = i > 0 ? v.slice(0, i).trim() : '';
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name))
      throw new InputError(`${flag} must look like 'Name: value' (a header name, a colon, the value); the value is not shown, it may be a secret`);
    headers[name] = v.slice(i + 1).trim();
  }
  return headers;
}
