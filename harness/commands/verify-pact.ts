import type { Command } from 'commander';
import { readPact } from '../../contracts/pact-file.js';
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
}

const collect = (v: string, acc: string[] | undefined): string[] => [...(acc ?? []), v];

/** `cmcard verify-pact`: Pact provider verification of the committed pact (default: against the embedded reference server). */
export function registerVerifyPact(program: Command): void {
  program
    .command('verify-pact')
    .description('verify a CM server against the committed Pact contract (default: the embedded reference server)')
    .option('--server <url>', 'provider origin, e.g. http://127.0.0.1:8080 (default: start the embedded reference server)')
    .option('--config <file>', 'harness config file: server, auth/forbiddenAuth (Kerberos, NTLM, OAuth 2) or headers; the verifier then talks to the server through a loopback proxy that authenticates each caller (docs/real-cm.md)')
    .option('--states-url <url>', 'Pact state-change URL (POST {state, params, action}); without it, interactions that need a state are skipped')
    .option('--pact <file>', 'pact file (default: the committed contracts/pacts/cmcard-mim-cm.json)')
    .option('--header <name:value>', "send instead of the pact's help-desk credentials (repeatable; also sent with those interactions' state-change calls), e.g. 'Authorization: Negotiate ...'", collect)
    .option('--forbidden-header <name:value>', "send instead of the pact's no-rights caller credentials (repeatable; also sent with its state-change calls)", collect)
    .option('--timeout <ms>', 'per-request timeout in milliseconds (default 10000)')
    .addHelpText(
      'after',
      '\nPrints the verifier\'s per-interaction report, then one line per interaction (PASS, FAIL, SKIP with the reason) and a summary.' +
        '\nExit codes: 0 verified, 1 an interaction failed or nothing was verified (every interaction skipped, e.g. no --states-url)' +
        ' or the verifier could not run, 2 usage error, 3 server unreachable.',
    )
    .action(async (flags: VerifyPactFlags) => {
      const timeoutMs = parseTimeout(flags.timeout) ?? DEFAULT_VERIFY_TIMEOUT_MS;
      const headers = parseHeaders(flags.header, '--header');
      const forbiddenHeaders = parseHeaders(flags.forbiddenHeader, '--forbidden-header');
      if (flags.config !== undefined && (headers || forbiddenHeaders)) {
        throw new InputError('--header and --forbidden-header go without --config: put the credentials in the config file (headers, auth, forbiddenHeaders, forbiddenAuth)');
      }
      if (flags.statesUrl !== undefined && flags.server === undefined && flags.config === undefined) {
        throw new InputError('--states-url needs --server (the embedded reference server brings its own state endpoint)');
      }
      if (flags.pact !== undefined) readPact(flags.pact); // a bad file is a usage error before anything starts
      const config = flags.config !== undefined ? loadConfig(flags.config, { ...(flags.server !== undefined ? { server: flags.server } : {}), timeoutMs }) : undefined;
      const embedded = flags.server === undefined && config === undefined ? await startReferenceServer({ host: '127.0.0.1', port: 0, providerStates: true, quiet: true }) : undefined;
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
            // Through the proxy, the verifier names the caller and the proxy attaches its credentials.
            ...(proxy ? { headers: { [CALLER_HEADER]: 'rights' } } : {}),
            ...(proxy && (config?.forbiddenHeaders || config?.forbiddenAuth) ? { forbiddenHeaders: { [CALLER_HEADER]: 'forbidden' } } : {}),
            ...(!proxy && headers ? { headers } : {}),
            ...(!proxy && forbiddenHeaders ? { forbiddenHeaders } : {}),
            timeoutMs,
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
        else if (passed === 0) throw new ExitError('nothing was verified: every interaction was skipped, so this is no pass (give --states-url for interactions with provider states)', EXIT.FAILED);
        else process.exitCode = EXIT.OK;
      } finally {
        await proxy?.close();
        await session?.close();
        await embedded?.close();
      }
    });
}

/** One line per interaction, mismatches indented under a failure, then the summary. */
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
  return `${lines.join('\n')}\n`;
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
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new InputError(`${flag} must look like 'Name: value' (a header name, a colon, the value); the value is not shown, it may be a secret`);
    headers[name] = v.slice(i + 1).trim();
  }
  return headers;
}
