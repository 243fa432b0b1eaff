import { writeFileSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../../simulator/errors.js';
import { DEFAULT_BASE_PATH, DEFAULT_TIMEOUT_MS } from '../wire/cm-client.js';
import { checkOrigin } from '../wire/origin.js';

/** Where the package's config schema sits in a project that has cmcard installed. */
export const SCHEMA_IN_PROJECT = 'node_modules/cmcard/schemas/config.schema.json';

/** Placeholders fail the config loader with a line naming their key until they are filled in. */
export const PLACEHOLDER = {
  server: 'https://<your CM server>',
  reqid: '<GUID of an approved Unblock request for this card>',
  scid: '<GUID of the smart card in CM>',
  cardid: '<card id (GUID) as the card reports it>',
} as const;

/**
 * The starting config, pure: every key the loader knows that a first run needs, secrets as
 * `${ENV}` references. JSON has no comments, so the explanation is `initGuide`, printed.
 */
export function starterConfig(options: { server?: string; schema: string }): Record<string, unknown> {
  return {
    $schema: options.schema,
    server: options.server ?? PLACEHOLDER.server,
    basePath: DEFAULT_BASE_PATH,
    headers: { Authorization: 'Bearer ${CM_TOKEN}' },
    forbiddenHeaders: { Authorization: 'Bearer ${CM_TOKEN_NO_RIGHTS}' },
    timeoutMs: DEFAULT_TIMEOUT_MS,
    lifecycle: false,
    cards: [{ name: 'card1', reqid: PLACEHOLDER.reqid, scid: PLACEHOLDER.scid, cardid: PLACEHOLDER.cardid, adminKey: '${CM_ADMIN_KEY}' }],
  };
}

/** What to fill in, printed after writing the file. */
export function initGuide(file: string, serverGiven: boolean): string {
  return [
    `wrote ${file}; fill in before the first run:`,
    ...(serverGiven ? [] : ["  server            your CM server's origin (no path), or pass --server on every run"]),
    '  cards[0]          reqid, scid, cardid of a card your CM server knows (GUIDs); add a card per key you want checked',
    "  CM_ADMIN_KEY      environment variable: the card's 3DES admin key the server uses for diversified=false (48 hex digits)",
    '  CM_TOKEN          environment variable: a token of a caller allowed to get responses ("${VAR}" works in any string value)',
    '  CM_TOKEN_NO_RIGHTS  environment variable: a caller the server must refuse; or delete forbiddenHeaders (its cases are then skipped)',
    'optional: "diversifiedKey" per card (48 hex digits, or "server" to fetch it from the diversifiedkey endpoint),',
    '  "atr" per card, "tls": {"ca", "cert", "key"} file paths, "lifecycle": true if the server has the request and smart card endpoints.',
    `then: npx cmcard conformance --config ${file}`,
    '',
  ].join('\n');
}

/** The `$schema` value: the installed package's schema, relative to the written file. */
export function schemaPathFor(output: string, cwd: string): string {
  const path = relative(dirname(resolve(cwd, output)), resolve(cwd, SCHEMA_IN_PROJECT))
    .split(sep)
    .join('/');
  return path.startsWith('.') ? path : `./${path}`;
}

/** `cmcard init`: writes a starting config file and says what to fill in. */
export function registerInit(program: Command): void {
  program
    .command('init')
    .description('write a starting config file for an external CM server (with "$schema" and ${ENV} placeholders)')
    .option('--server <url>', 'the CM server origin, e.g. https://cm.contoso.com (default: a placeholder to fill in)')
    .option('--output <file>', 'file to write', 'cmcard.json')
    .option('--force', 'overwrite the file if it exists')
    .action((flags: { server?: string; output: string; force?: boolean }) => {
      let server: string | undefined;
      if (flags.server !== undefined) {
        const checked = checkOrigin(flags.server);
        if (checked.problem !== undefined) throw new InputError(`--server ${checked.problem}`);
        server = checked.origin;
      }
      const config = starterConfig({ ...(server !== undefined ? { server } : {}), schema: schemaPathFor(flags.output, process.cwd()) });
      try {
        // 'wx' refuses an existing file atomically: no check-then-write race.
        writeFileSync(flags.output, `${JSON.stringify(config, null, 2)}\n`, { flag: flags.force ? 'w' : 'wx' });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') throw new InputError(`--output ${flags.output} exists; pass --force to overwrite it`);
        throw new InputError(`--output ${flags.output} cannot be written (${code ?? String(err)})`);
      }
      process.stdout.write(initGuide(flags.output, server !== undefined));
    });
}
