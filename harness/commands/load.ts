import type { Command } from 'commander';
import { ExitError, EXIT } from '../cli-support.js';

// Placeholder until its issue lands: the command exists so --help lists it.
export function registerLoad(program: Command): void {
  program
    .command('load')
    .description('(not built yet)')
    .allowUnknownOption()
    .action(() => {
      throw new ExitError('load is not built yet', EXIT.USAGE);
    });
}
