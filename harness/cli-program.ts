// The cmcard command line (started by cli.ts): a thin layer over the libraries. Each
// command lives in harness/commands/<name>.ts and only parses flags, calls a library and prints.
import { Command, CommanderError } from 'commander';
import { EXIT, reportError } from './cli-support.js';
import { VERSION } from './version.js';

type Register = (program: Command) => void;

/**
 * Every command, by name, as a loader of its module. Only the command being run is
 * loaded (the embedded conformance run need not load the fuzzer, the load engine or
 * the Pact verifier); `--help`, a missing or an unknown command load them all so that
 * help lists every command and a typo gets its suggestion.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  response: async () => (await import('./commands/response.js')).registerResponse,
  card: async () => (await import('./commands/card.js')).registerCard,
  serve: async () => (await import('./commands/serve.js')).registerServe,
  conformance: async () => (await import('./commands/conformance.js')).registerConformance,
  unlock: async () => (await import('./commands/unlock.js')).registerUnlock,
  'verify-pact': async () => (await import('./commands/verify-pact.js')).registerVerifyPact,
  load: async () => (await import('./commands/load.js')).registerLoad,
  init: async () => (await import('./commands/init.js')).registerInit,
  fuzz: async () => (await import('./commands/fuzz.js')).registerFuzz,
};

/** The command named on the command line (the first argument that is not an option), if any. */
export function commandNamed(args: readonly string[]): string | undefined {
  const first = args.find((a) => !a.startsWith('-'));
  return first !== undefined && Object.hasOwn(COMMANDS, first) ? first : undefined;
}

/** `--version` alone needs no command at all. */
const VERSION_ONLY = new Set(['--version', '-V']);

/** The program with `only` registered (a known command's name), none (null), or every command. */
export async function buildProgram(only?: string | null): Promise<Command> {
  const program = new Command('cmcard')
    .description('Virtual smart card, reference server and conformance harness for the MIM CM smart card unblock path')
    .version(VERSION)
    .exitOverride()
    .showSuggestionAfterError();
  const names = only === null ? [] : only !== undefined ? [only] : Object.keys(COMMANDS);
  // Loaded together, registered in the table's order: help lists the commands as it always has.
  const registers = await Promise.all(names.map((n) => COMMANDS[n]!()));
  for (const register of registers) register(program);
  return program;
}

/** Runs the command line of this process; sets process.exitCode (docs/cli.md). */
export async function main(): Promise<void> {
  try {
    const args = process.argv.slice(2);
    const program = await buildProgram(args.length === 1 && VERSION_ONLY.has(args[0]!) ? null : commandNamed(args));
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors get 2 (docs/cli.md).
      process.exitCode = err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
      return;
    }
    process.exitCode = reportError(err);
  }
}
