import { Option, type Command } from 'commander';
import { parseBytes, parseHex, toBase64, toHex, toWindowsDisplay } from '../../simulator/bytes.js';
import { createCardFile, openCardFile } from '../../simulator/card-file.js';
import { MAX_TRIES, describeResult, pinProblem, triesProblem, type CardResult } from '../../simulator/card.js';
import { InputError } from '../../simulator/errors.js';
import { keyCheckValue } from '../../simulator/tdes.js';
import { MAX_CHALLENGE, challengeLengthProblem, parseAdminKey } from '../../simulator/validate.js';
import { EXIT, ExitError } from '../cli-support.js';
import { registerCardAttach } from './card-attach.js';

/**
 * `cmcard card ...`: the virtual card as a stateful CLI over a card file. Every command
 * checks its input before it opens the card, so bad input (exit 2) changes nothing; a
 * refusal by the card (exit 1) prints the card's own line with its Windows code and SW.
 */
export function registerCard(program: Command): void {
  const card = program.command('card').description('the virtual card as a stateful CLI over a card file');

  const stateOption = () => new Option('--state <file>', 'the card file').makeOptionMandatory();

  card
    .command('new')
    .description('create a card and its file (mode 0600: it holds the admin key and the PIN)')
    .addOption(stateOption())
    .requiredOption('--admin-key <hex>', 'admin key: 48 or 32 hex digits (3-key or 2-key 3DES), or base64 of 24 or 16 bytes')
    .requiredOption('--pin <pin>', 'the user PIN (4 to 127 bytes)')
    .option('--cardid <guid>', 'the card id (default: random, or derived from --seed)')
    .option('--atr <hex>', 'the ATR (default: a GIDS ATR); its TCK byte is checked')
    .option('--admin-tries <n|unlimited>', `wrong admin responses before the admin key blocks (1-${MAX_TRIES} or unlimited)`, '5')
    .option('--pin-tries <n>', `wrong PINs before the PIN blocks (1-${MAX_TRIES})`, '3')
    .option('--seed <text>', 'deterministic mode: challenges (and the card id) replay from this seed')
    .option('--force', 'replace an existing card file')
    .action(
      (opts: {
        state: string;
        adminKey: string;
        pin: string;
        cardid?: string;
        atr?: string;
        adminTries: string;
        pinTries: string;
        seed?: string;
        force?: boolean;
      }) => {
        const adminKey = parseAdminKey(opts.adminKey, '--admin-key');
        checkPinFlag(opts.pin, '--pin');
        const created = createCardFile(opts.state, {
          adminKey,
          pin: opts.pin,
          ...(opts.cardid !== undefined ? { cardId: opts.cardid } : {}),
          ...(opts.atr !== undefined ? { atr: opts.atr } : {}),
          adminTries: opts.adminTries.trim().toLowerCase() === 'unlimited' ? null : parseCount(opts.adminTries, '--admin-tries'),
          pinTries: parseCount(opts.pinTries, '--pin-tries'),
          ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
          overwrite: opts.force === true,
        });
        const s = created.snapshot();
        const admin = s.adminTriesLimit === null ? 'unlimited admin attempts' : `${s.adminTriesLimit} admin attempts`;
        out(`created card ${s.cardId} in ${opts.state}`);
        out(`admin key KCV ${kcv(s.adminKey)}, ${admin}, ${s.pinTriesLimit} PIN tries${opts.seed !== undefined ? ', deterministic challenges' : ''}`);
      },
    );

  card
    .command('status')
    .description('show the card: id, ATR, counters, pending challenge (the admin key only as its KCV)')
    .addOption(stateOption())
    .option('--show-key', 'print the admin key itself')
    .option('--json', 'one JSON object')
    .action((opts: { state: string; showKey?: boolean; json?: boolean }) => {
      const c = openCardFile(opts.state);
      const s = c.snapshot();
      const pending = s.pendingChallenge === null ? null : Buffer.from(s.pendingChallenge, 'hex');
      const status = {
        cardId: s.cardId,
        serial: s.serial,
        atr: s.atr,
        adminKeyKcv: kcv(s.adminKey),
        ...(opts.showKey ? { adminKey: s.adminKey } : {}),
        adminKeyType: s.adminKey.length === 48 ? '3-key 3DES' : '2-key 3DES',
        adminTriesLimit: s.adminTriesLimit,
        adminTriesLeft: s.adminTriesLeft,
        adminBlocked: c.adminBlocked,
        pinTriesLimit: s.pinTriesLimit,
        pinTriesLeft: s.pinTriesLeft,
        pinBlocked: c.pinBlocked,
        pendingChallenge: pending === null ? null : { windows: toWindowsDisplay(pending), base64: toBase64(pending) },
      };
      if (opts.json) {
        out(JSON.stringify(status));
        return;
      }
      const admin =
        s.adminTriesLimit === null ? 'unlimited attempts' : c.adminBlocked ? 'BLOCKED' : `${s.adminTriesLeft} of ${s.adminTriesLimit} attempts left`;
      out(`card id     ${s.cardId}`);
      out(`serial      ${s.serial}`);
      out(`ATR         ${s.atr}`);
      out(`admin key   ${opts.showKey ? `${s.adminKey} ` : ''}KCV ${status.adminKeyKcv} (${status.adminKeyType}), ${admin}`);
      out(`PIN         ${c.pinBlocked ? 'BLOCKED' : `${s.pinTriesLeft} of ${s.pinTriesLimit} tries left`}`);
      out(`challenge   ${pending === null ? 'none pending' : `${toWindowsDisplay(pending)} (base64 ${toBase64(pending)}) pending`}`);
    });

  card
    .command('challenge')
    .description('issue a new challenge (replaces a pending one), as the Windows unblock screen shows it and in base64')
    .addOption(stateOption())
    .option('--length <n>', `challenge bytes, a multiple of 8 from 8 to ${MAX_CHALLENGE}`, '8')
    .option('--json', 'one JSON object')
    .action((opts: { state: string; length: string; json?: boolean }) => {
      const length = parseWhole(opts.length, '--length');
      const bad = challengeLengthProblem(length, '--length');
      if (bad) throw new InputError(bad);
      // The card refuses a challenge while its admin key is blocked: its answer is ours.
      const answer = openCardFile(opts.state).issueChallenge(length);
      if (!('challenge' in answer)) throw new ExitError(describeResult(answer), EXIT.FAILED);
      const { challenge } = answer;
      if (opts.json) {
        out(JSON.stringify({ windows: toWindowsDisplay(challenge), base64: toBase64(challenge), hex: toHex(challenge) }));
        return;
      }
      out(`challenge: ${toWindowsDisplay(challenge)}`);
      out(`base64:    ${toBase64(challenge)}`);
    });

  card
    .command('unblock')
    .description('unblock the PIN with the admin response to the pending challenge and set a new PIN')
    .addOption(stateOption())
    .requiredOption('--response <b64|hex>', 'the response, base64 or hex (as read back by the help desk), or the server\'s JSON answer as is ("zVdlc/8Ah5Q=")')
    .requiredOption('--new-pin <pin>', 'the new user PIN (4 to 127 bytes)')
    .action((opts: { state: string; response: string; newPin: string }) => {
      const response = parseBytes(unquoteJsonString(opts.response, '--response'), '--response');
      checkPinFlag(opts.newPin, '--new-pin');
      const c = openCardFile(opts.state);
      const pending = c.snapshot().pendingChallenge;
      // A typo that drops digits is bad input, not a wrong answer: it must not cost an attempt.
      if (pending !== null && response.length * 2 !== pending.length) {
        throw new InputError(`--response must be ${pending.length / 2} bytes like the pending challenge, got ${response.length}`);
      }
      settle(c.unblockPin(response, opts.newPin));
    });

  card
    .command('verify-pin')
    .description('verify the user PIN (a wrong PIN costs a try)')
    .addOption(stateOption())
    .requiredOption('--pin <pin>', 'the user PIN')
    .action((opts: { state: string; pin: string }) => {
      checkPinFlag(opts.pin, '--pin');
      settle(openCardFile(opts.state).verifyPin(opts.pin));
    });

  card
    .command('block')
    .description('block the user PIN, as wrong PINs typed until no try is left would')
    .addOption(stateOption())
    .action((opts: { state: string }) => {
      const c = openCardFile(opts.state);
      const result = c.blockPin();
      out(`${describeResult(result)}: unblock it with \`cmcard card challenge\` and \`cmcard card unblock\``);
    });

  registerCardAttach(card);
}

/**
 * The CM server answers with a JSON string (`"zVdlc/8Ah5Q="`); a help desk pastes that
 * answer as it is. A value in double quotes is read as a JSON string (escapes included).
 */
function unquoteJsonString(text: string, flag: string): string {
  const trimmed = text.trim();
  if (!(trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"'))) return text;
  try {
    const value: unknown = JSON.parse(trimmed);
    if (typeof value === 'string') return value;
  } catch {
    // not JSON: say so below
  }
  throw new InputError(`${flag} starts and ends with a double quote but is not a JSON string`);
}

/** Exit 0 with the card's line on stdout, or exit 1 with it on stderr. */
function settle(result: CardResult): void {
  if (!result.ok) throw new ExitError(describeResult(result), EXIT.FAILED);
  out(describeResult(result));
}

function checkPinFlag(pin: string, flag: string): void {
  const problem = pinProblem(pin, flag);
  if (problem) throw new InputError(problem);
}

function parseWhole(text: string, flag: string): number {
  if (!/^\s*\d+\s*$/.test(text)) throw new InputError(`${flag} must be a whole number, got ${JSON.stringify(text)}`);
  return Number(text);
}

function parseCount(text: string, flag: string): number {
  const n = parseWhole(text, flag);
  const bad = triesProblem(n, flag);
  if (bad) throw new InputError(bad);
  return n;
}

function kcv(keyHex: string): string {
  return toHex(keyCheckValue(parseHex(keyHex))).toUpperCase();
}

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}
