import type { Command } from 'commander';
import { ExitError, EXIT } from '../cli-support.js';

// Placeholder until issue 7 lands: `cmcard card attach`.
export function registerCardAttach(card: Command): void {
  card
    .command('attach')
    .description('(not built yet)')
    .allowUnknownOption()
    .action(() => {
      throw new ExitError('card attach is not built yet', EXIT.USAGE);
    });
}
