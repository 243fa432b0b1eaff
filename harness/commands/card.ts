import type { Command } from 'commander';
import { ExitError, EXIT } from '../cli-support.js';

// Placeholder until its issue lands: the command exists so --help lists it.
export function registerCard(program: Command): void {
  program
    .command('card')
    .description('(not built yet)')
    .allowUnknownOption()
    .action(() => {
      throw new ExitError('card is not built yet', EXIT.USAGE);
    });
}
