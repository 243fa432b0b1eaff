import type { Command } from 'commander';
import { InputError } from '../../simulator/errors.js';
import { EXIT, ExitError } from '../cli-support.js';
import { otherKeysFor } from '../cases/helpers.js';
import { CmClient } from '../wire/cm-client.js';
import { TransportError } from '../wire/transport-error.js';
import { openSession, redactorFor } from '../config-client.js';
import type { RecordedExchange } from '../events.js';
import { oneLine } from '../one-line.js';
import { preflight } from '../preflight.js';
import { makeContext } from '../cases/context.js';
import { parseHeaderFlags, resolveTarget } from '../target.js';
import { playUnlock } from '../unlock-flow.js';

interface UnlockFlags {
  server?: string;
  config?: string;
  card?: string;
  header?: string[];
}

/** `cmcard unlock`: one help-desk unlock, printed step by step. */
export function registerUnlock(program: Command): void {
  program
    .command('unlock')
    .description('play one full unlock exchange (blocked PIN, challenge, server response, unblock) and print each step')
    .option('--server <url>', "server origin (overrides the config file's server)")
    .option('--config <file>', 'harness config file (docs/config.md)')
    .option('--card <name>', 'which configured card (default: the first)')
    .option(
      '--header <name:value>',
      "send this header with the requests, e.g. 'Authorization: Bearer ...' (repeatable; replaces a config header of the same name)",
      (v: string, acc: string[] | undefined) => [...(acc ?? []), v],
    )
    .addHelpText('after', '\nExit codes: 0 the card unblocked, 1 it did not, 2 usage or config error, 3 server unreachable.')
    .action(async (flags: UnlockFlags) => {
      const headers = parseHeaderFlags(flags.header);
      const target = await resolveTarget({ ...flags, ...(headers ? { headers } : {}) });
      const { config } = target;
      // Steps quote the server's bodies: a server that echoes credentials must not print them.
      const redactor = redactorFor(config);
      const out = (line: string): void => void process.stdout.write(`${redactor.text(line)}\n`);
      let closeSession = async (): Promise<void> => {};
      try {
        const card = flags.card === undefined ? config.cards[0]! : config.cards.find((c) => c.name === flags.card);
        if (!card) throw new InputError(`--card '${flags.card}' is not in ${config.source}; cards: ${config.cards.map((c) => c.name).join(', ')}`);
        const session = openSession(config, redactor);
        closeSession = () => session.close();
        await preflight(session, config);
        const client = new CmClient({ ...session.options, onExchange: (ex) => printExchange(out, ex) });
        try {
          const ctx = makeContext(config, client, redactor);
          out(`unlock of card ${card.name} (reqid ${card.reqid}, scid ${card.scid}) on ${config.server}`);
          const { key: dkey, reason } = await ctx.diversifiedKey(card);
          if (card.diversifiedKey && !dkey) out(`  (no diversified key: ${reason}; using the default key)`);
          let n = 0;
          const result = await playUnlock({
            client,
            card,
            key: dkey ?? card.adminKey,
            diversified: dkey !== undefined,
            lifecycle: config.lifecycle,
            virtualCard: ctx.virtualCard,
            otherKeys: otherKeysFor(card, dkey ? 'diversified' : 'default', dkey),
            onStep: (s) => out(`${++n}. ${s.title}: ${s.detail}`),
            redactor,
          });
          if (!result.ok) throw new ExitError(redactor.text(`unlock failed: ${result.failure}`), EXIT.FAILED);
          out('unlock OK: the card accepted the server response and the new PIN verifies');
        } catch (err) {
          if (err instanceof TransportError) throw new ExitError(`unlock failed: no answer: ${err.message}`, EXIT.FAILED);
          throw err;
        } finally {
          client.close();
        }
      } finally {
        await closeSession();
        await target.close();
      }
    });
}

function printExchange(out: (line: string) => void, ex: RecordedExchange): void {
  out(`   > ${ex.request.method} ${ex.request.url}`);
  if (ex.response)
    out(`   < ${ex.response.status} ${ex.response.headers['content-type'] ?? ''} ${ex.response.body === '' ? '' : oneLine(ex.response.body, 160)}`.trimEnd());
  else out(`   < no answer: ${ex.error ?? 'unknown error'}`);
}
