#!/usr/bin/env node
// The cmcard command line: a thin layer over the libraries. Each command lives in
// harness/commands/<name>.ts and only parses flags, calls a library and prints.
import { Command, CommanderError } from 'commander';
import { EXIT, reportError } from './cli-support.js';
import { registerResponse } from './commands/response.js';
import { registerCard } from './commands/card.js';
import { registerServe } from './commands/serve.js';
import { registerConformance } from './commands/conformance.js';
import { registerUnlock } from './commands/unlock.js';
import { registerVerifyPact } from './commands/verify-pact.js';
import { registerLoad } from './commands/load.js';
import { registerInit } from './commands/init.js';
import { registerFuzz } from './commands/fuzz.js';
import { VERSION } from './version.js';

export function buildProgram(): Command {
  const program = new Command('cmcard')
    .description('Virtual smart card, reference server and conformance harness for the MIM CM smart card unblock path')
    .version(VERSION)
    .exitOverride()
    .showSuggestionAfterError();
  registerResponse(program);
  registerCard(program);
  registerServe(program);
  registerConformance(program);
  registerUnlock(program);
  registerVerifyPact(program);
  registerLoad(program);
  registerInit(program);
  registerFuzz(program);
  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors get 2 (docs/cli.md).
      process.exitCode = err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
      return;
    }
    process.exitCode = reportError(err);
  }
}

await main();
