import { Option, type Command } from 'commander';
import { parseBytes, toBase64, toWindowsDisplay } from '../../simulator/bytes.js';
import { tdesEncrypt } from '../../simulator/tdes.js';
import { parseAdminKey } from '../../simulator/validate.js';

/** `cmcard response`: the help-desk calculator, 3DES-ECB(key, challenge). */
export function registerResponse(program: Command): void {
  program
    .command('response')
    .description('compute the admin response to a card challenge (what a CM server returns)')
    .requiredOption('--key <hex>', 'admin key, 24 bytes (or 16 for 2-key 3DES), hex or base64')
    .requiredOption('--challenge <b64|hex>', 'the challenge, base64 or hex (as the Windows unblock screen shows it)')
    .addOption(new Option('--format <fmt>', 'output format').choices(['b64', 'hex']).default('b64'))
    .action((opts: { key: string; challenge: string; format: 'b64' | 'hex' }) => {
      const key = parseAdminKey(opts.key, '--key');
      const response = tdesEncrypt(key, parseBytes(opts.challenge, '--challenge'));
      process.stdout.write(`${opts.format === 'hex' ? toWindowsDisplay(response) : toBase64(response)}\n`);
    });
}
