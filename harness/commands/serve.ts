import type { Command } from 'commander';
import { ExitError, EXIT } from '../cli-support.js';

// Placeholder until its issue lands: the command exists so --help lists it.
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('(not built yet)')
    .allowUnknownOption()
    .action(() => {
      throw new ExitError('serve is not built yet', EXIT.USAGE);
    });
}
