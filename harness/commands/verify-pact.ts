import type { Command } from 'commander';
import { ExitError, EXIT } from '../cli-support.js';

// Placeholder until its issue lands: the command exists so --help lists it.
export function registerVerifyPact(program: Command): void {
  program
    .command('verify-pact')
    .description('(not built yet)')
    .allowUnknownOption()
    .action(() => {
      throw new ExitError('verify-pact is not built yet', EXIT.USAGE);
    });
}
