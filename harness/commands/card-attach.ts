import type { Command } from 'commander';
import { ApduFrontEnd, type ApduExchange } from '../../simulator/apdu.js';
import { openCardFile } from '../../simulator/card-file.js';
import { formatSw } from '../../simulator/card.js';
import { VpcdClient, parseVpcdAddress, VPCD_DEFAULT_HOST, VPCD_DEFAULT_PORT, type VpcdEvent } from '../../simulator/vpcd.js';
import { EXIT, ExitError } from '../cli-support.js';

/**
 * `cmcard card attach --state FILE [--vpcd HOST:PORT] [--trace]`: puts the card in
 * vsmartcard's virtual reader so PC/SC middleware sees it, until SIGINT or SIGTERM. The
 * card file is the card: every counter change is written (atomically, counter first)
 * before the card answers, exactly as the other `card` commands do.
 */
export function registerCardAttach(card: Command): void {
  card
    .command('attach')
    .description('put the card in a vsmartcard vpcd reader (pcscd) so OpenSC and other PC/SC tools see it; runs until stopped')
    .requiredOption('--state <file>', 'the card file')
    .option('--vpcd <host:port>', 'where the vpcd reader driver listens', `${VPCD_DEFAULT_HOST}:${VPCD_DEFAULT_PORT}`)
    .option('--trace', 'print every APDU and its answer (PINs and keys masked)')
    .action(async (opts: { state: string; vpcd: string; trace?: boolean }) => {
      const { host, port } = parseVpcdAddress(opts.vpcd);
      const cardFile = openCardFile(opts.state);
      // The card failing (its file deleted or corrupted, a full disk) ends the attach: exit 1, one line.
      let cardError: string | null = null;
      let stopForError: () => void = () => {};
      const stopped = new Promise<void>((resolve) => (stopForError = resolve));
      let client: VpcdClient | null = null;
      const frontEnd = new ApduFrontEnd(cardFile, {
        transcriptLimit: 0,
        ...(opts.trace ? { onExchange: printExchange } : {}),
        // After the answer (6F00) has gone out: this runs inside the reader's data handler.
        onError: (err) => setImmediate(() => client?.fail(err)),
      });
      const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
      const printEvent = eventPrinter(where, opts.trace === true);
      client = new VpcdClient({
        host,
        port,
        card: frontEnd,
        onEvent: (event) => {
          if (event.type === 'card-error') {
            cardError = event.message;
            stopForError();
          }
          printEvent(event);
        },
      });
      out(`attaching card ${cardFile.cardId} (${opts.state}) to the vpcd reader at ${where}; stop with Ctrl-C`);
      client.start();
      await Promise.race([untilSignal(), stopped]);
      await client.close();
      out('detached: the card left the reader');
      if (cardError !== null) throw new ExitError(`the card failed, so it left the reader: ${cardError}`, EXIT.FAILED);
    });
}

function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** Status lines for people; a refused connection is reported once, not at every retry. */
function eventPrinter(where: string, trace: boolean): (event: VpcdEvent) => void {
  let waitingReported = false;
  return (event) => {
    switch (event.type) {
      case 'connected':
        waitingReported = false;
        out(`connected to vpcd at ${where}: the card is in the reader`);
        return;
      case 'disconnected':
        out(`vpcd connection lost (${event.reason}): reconnecting`);
        return;
      case 'retry':
        if (trace) out(`retrying in ${event.delayMs} ms (${event.reason})`);
        else if (!waitingReported) out(`waiting for vpcd at ${where} (${event.reason}); is pcscd running with vsmartcard-vpcd?`);
        waitingReported = true;
        return;
      case 'control':
        // pcscd polls the ATR to see that the card is still there: too chatty for a trace.
        if (trace && event.control !== 'get-atr') out(`~ ${event.control}`);
        return;
      default:
        return;
    }
  };
}

function printExchange(exchange: ApduExchange): void {
  out(`> ${exchange.command}    ${exchange.name}`);
  out(`< ${exchange.response}    SW ${formatSw(exchange.sw)}`);
}

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}
