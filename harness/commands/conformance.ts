import type { Command } from 'commander';
import { ExitError, EXIT } from '../cli-support.js';

// Placeholder until its issue lands: the command exists so --help lists it.
export function registerConformance(program: Command): void {
  program
    .command('conformance')
    .description('(not built yet)')
    .allowUnknownOption()
    .action(() => {
      throw new ExitError('conformance is not built yet', EXIT.USAGE);
    });
}
