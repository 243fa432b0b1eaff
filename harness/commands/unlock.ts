import type { Command } from 'commander';
import { ExitError, EXIT } from '../cli-support.js';

// Placeholder until its issue lands: the command exists so --help lists it.
export function registerUnlock(program: Command): void {
  program
    .command('unlock')
    .description('(not built yet)')
    .allowUnknownOption()
    .action(() => {
      throw new ExitError('unlock is not built yet', EXIT.USAGE);
    });
}
