/**
 * Runs Pact's core verifier (`@pact-foundation/pact-core`) in a child Node process.
 *
 * The core's native library writes its report, in ANSI colour whatever the terminal, and its
 * log lines (e.g. `ERROR ... pact_verifier: Provider setup state change ... has failed`)
 * straight to file descriptor 1, and pact-core's own logger prints `ERROR ... Verification
 * unsuccessful` there too; the Node binding offers no switch for colour or output. In a
 * child, all of that lands in a pipe we keep for diagnostics, and the caller prints the
 * report from the core's JSON results, without colour unless asked. The child inherits the
 * environment, so Pact's own variables (PACT_DESCRIPTION, ...) still reach the core.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PactDocument } from './pact-file.js';

/** One verifier run over one pact (pact-core's Verifier options, in our words). */
export interface CorePass {
  pact: PactDocument;
  server: string;
  statesUrl?: string;
  /** Sent with every request of the pass and its state-change calls. */
  headers?: Record<string, string>;
  timeoutMs: number;
}

export interface CoreRun {
  /** Per pass, in order: the core's JSON results (pactffi_verifier_json), or the message it failed with. */
  raw: string[];
  /** Everything the child printed (the core's report and log lines): for diagnostics, not for the user as is. */
  log: string;
}

// Plain CommonJS run with `node -e`: no build step, the same from source and from dist/.
const CHILD = `
const { readFileSync, writeFileSync } = require('node:fs');
const [corePath, jobFile, resultFile] = process.argv.slice(1);
const { Verifier } = require(corePath);
(async () => {
  const results = [];
  for (const options of JSON.parse(readFileSync(jobFile, 'utf8'))) {
    try {
      results.push(await new Verifier(options).verify());
    } catch (err) {
      results.push(err instanceof Error ? err.message : String(err));
    }
  }
  writeFileSync(resultFile, JSON.stringify(results));
})().catch((err) => {
  process.stderr.write(String((err && err.stack) || err) + '\\n');
  process.exitCode = 1;
});
`;

/** Thrown when the child could not give results (it crashed, or ran past `deadlineMs`). */
export class CoreProcessError extends Error {
  override readonly name = 'CoreProcessError';
}

export async function runCorePasses(passes: CorePass[], options: { env: NodeJS.ProcessEnv; deadlineMs: number }): Promise<CoreRun> {
  const dir = mkdtempSync(join(tmpdir(), 'cmcard-verify-'));
  try {
    const job = passes.map((pass, i) => {
      const pactFile = join(dir, `pact-${i}.json`);
      writeFileSync(pactFile, JSON.stringify(pass.pact));
      return {
        providerBaseUrl: pass.server,
        provider: pass.pact.provider.name,
        pactUrls: [pactFile],
        ...(pass.statesUrl !== undefined ? { providerStatesSetupUrl: pass.statesUrl } : {}),
        ...(pass.headers !== undefined ? { customProviderHeaders: pass.headers } : {}),
        timeout: pass.timeoutMs,
        logLevel: 'error',
        failIfNoPactsFound: true,
      };
    });
    const jobFile = join(dir, 'job.json');
    const resultFile = join(dir, 'results.json');
    writeFileSync(jobFile, JSON.stringify(job));
    const corePath = createRequire(import.meta.url).resolve('@pact-foundation/pact-core');
    const { code, signal, timedOut, log } = await runChild([corePath, jobFile, resultFile], options);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(resultFile, 'utf8'));
    } catch {
      const why = timedOut
        ? `did not finish within ${Math.round(options.deadlineMs / 1000)} s`
        : signal !== null
          ? `was stopped by ${signal}`
          : `exited with ${code}`;
      throw new CoreProcessError(`the Pact verifier process ${why} without results${lastLine(log)}`);
    }
    if (!Array.isArray(raw) || raw.length !== passes.length || !raw.every((r) => typeof r === 'string')) {
      throw new CoreProcessError('the Pact verifier process wrote results of an unexpected shape');
    }
    return { raw, log };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface ChildEnd {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  log: string;
}

function runChild(args: string[], options: { env: NodeJS.ProcessEnv; deadlineMs: number }): Promise<ChildEnd> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', CHILD, ...args], { env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    // Our process ending (Ctrl-C, an error) must not leave the verifier running.
    const stop = (): void => void child.kill('SIGKILL');
    process.once('exit', stop);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, options.deadlineMs);
    const chunks: Buffer[] = [];
    let kept = 0;
    const keep = (d: Buffer): void => {
      // Bounded: the log is for diagnostics, a runaway core must not fill memory.
      if (kept < LOG_CAP) chunks.push(d);
      kept += d.length;
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (err) => {
      clearTimeout(timer);
      process.removeListener('exit', stop);
      reject(new CoreProcessError(`the Pact verifier process could not start: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      process.removeListener('exit', stop);
      resolve({ code, signal, timedOut, log: Buffer.concat(chunks).toString('utf8') });
    });
  });
}

const LOG_CAP = 4 * 1024 * 1024;

function lastLine(log: string): string {
  const line = log.trim().split('\n').at(-1)?.trim();
  return line ? `: ${line.slice(0, 300)}` : '';
}
