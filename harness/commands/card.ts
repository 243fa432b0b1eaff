import type { Command } from 'commander';
import { registerCardAttach } from './card-attach.js';

// Placeholder until issue 2's CLI lands: `cmcard card ...`.
export function registerCard(program: Command): void {
  const card = program.command('card').description('the virtual card as a stateful CLI over a card file');
  registerCardAttach(card);
}
