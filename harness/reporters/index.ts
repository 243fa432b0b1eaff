import { randomBytes } from 'node:crypto';
import { rm, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { InputError } from '../../simulator/errors.js';
import type { Reporter } from '../events.js';
import { consoleReporter } from './console.js';
import { htmlReporter } from './html.js';
import { jsonReporter } from './json.js';
import { junitReporter } from './junit.js';
import { multiplex, type MultiplexedReporter, type NamedReporter } from '../event-multiplexer.js';
import { makeFolder } from './write-file.js';

/** The reporters of `cmcard conformance`: the console plus any `--report FMT:PATH` files. */

export const REPORT_FORMATS = ['json', 'junit', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];
export interface ReportSpec {
  format: ReportFormat;
  path: string;
}

const FORMAT_LIST = 'json, junit or html';
const isFormat = (text: string): text is ReportFormat => (REPORT_FORMATS as readonly string[]).includes(text);

/** Reads one `--report FMT:PATH` value, e.g. `junit:reports/conformance.xml`. */
export function parseReportSpec(text: string): ReportSpec {
  const colon = text.indexOf(':');
  if (colon < 0) throw new InputError(`--report expects FMT:PATH with FMT one of ${FORMAT_LIST}, got '${text}'`);
  const format = text.slice(0, colon).trim().toLowerCase();
  const path = text.slice(colon + 1);
  if (!isFormat(format)) {
    throw new InputError(`--report '${text}': unknown format '${text.slice(0, colon)}', use ${FORMAT_LIST}`);
  }
  if (path.trim() === '') throw new InputError(`--report '${text}': the path after '${format}:' is empty`);
  return { format, path };
}

const FILE_REPORTERS: Record<ReportFormat, (path: string) => Reporter> = {
  json: jsonReporter,
  junit: junitReporter,
  html: htmlReporter,
};

/**
 * Checks every `--report` path before the run, so a path that cannot be written is a
 * usage error (exit 2) and not a run that ends without its report: no two specs may name
 * the same file, the folder is created, and a scratch file is written and removed there.
 */
export async function prepareReportFiles(specs: readonly ReportSpec[]): Promise<void> {
  const seen = new Map<string, string>();
  for (const spec of specs) {
    const path = resolve(spec.path);
    const previous = seen.get(path);
    if (previous !== undefined) throw new InputError(`--report ${previous} and ${spec.format}:${spec.path} would write the same file`);
    seen.set(path, `${spec.format}:${spec.path}`);
  }
  for (const spec of specs) {
    const path = resolve(spec.path);
    const cannot = (err: unknown): never => {
      const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : String(err);
      throw new InputError(`--report ${spec.format}:${spec.path}: cannot write ${path} (${code})`);
    };
    const existing = await stat(path).catch(() => undefined);
    if (existing?.isDirectory()) cannot('EISDIR');
    await makeFolder(dirname(path)).catch(cannot);
    const probe = `${path}.${randomBytes(4).toString('hex')}.probe`;
    await writeFile(probe, '', { flag: 'wx' }).catch(cannot);
    await rm(probe, { force: true });
  }
}

/**
 * One Reporter for the runner: every file report (written in onRunEnd, folders created)
 * and, with `console: true`, the console report on `stream` (default stdout). A reporter
 * that throws is reported once on stderr and dropped; the run goes on, and `dropped`
 * names it so the command can end non-zero. Check the paths first with prepareReportFiles.
 */
export function createReporter(
  specs: Array<{ format: 'json' | 'junit' | 'html'; path: string }>,
  options: { console: boolean; stream?: NodeJS.WriteStream; tty?: boolean },
): MultiplexedReporter {
  const entries: NamedReporter[] = [];
  for (const spec of specs) {
    if (!isFormat(spec.format)) throw new InputError(`unknown report format '${String(spec.format)}', use ${FORMAT_LIST}`);
    // Resolved now, so the files land where the user pointed even if the cwd changes.
    entries.push({ name: `the ${spec.format} report (${spec.path})`, reporter: FILE_REPORTERS[spec.format](resolve(spec.path)) });
  }
  if (options.console) {
    const stream = options.stream ?? process.stdout;
    const tty = options.tty ?? stream.isTTY === true;
    // https://no-color.org: any non-empty NO_COLOR turns colour off.
    const color = tty && !process.env.NO_COLOR;
    entries.push({ name: 'the console report', reporter: consoleReporter({ stream, tty, color }) });
  }
  return multiplex(entries);
}
