import { resolve } from 'node:path';
import ts from 'typescript';
import { bundleBin, writeIfChanged } from '../../tools/bundle-bin.mjs';

// Tests that spawn the CLI run the built bin, as a user would: build it once per vitest
// run. `npm test` builds first and sets CMCARD_DIST_FRESH=1 to skip this.
//
// The build must never be seen half-written: another vitest run in this tree (two
// `vitest run FILE` at once, or `npm run bench` beside a test run) may be spawning
// `dist/bin/cmcard.js` right now. tsc rewrites every output file in place (truncate, then
// write), so a child that imported a module in that window died with a SyntaxError (exit 1,
// e.g. "a corrupt card file" got 1 instead of 2). Here each file is emitted only when its
// content changed, and then to a temporary sibling renamed over the old one (atomic on
// POSIX; tools/bundle-bin.mjs, writeIfChanged): a reader sees the old file or the new one,
// never a piece.
const ROOT = resolve(import.meta.dirname, '../..');

export default async function setup(): Promise<void> {
  if (process.env.CMCARD_DIST_FRESH === '1') return;
  await buildDist();
}

/** tsc's emit, then the bin's bundle of it (tools/bundle-bin.mjs, which writes the same way). */
export async function buildDist(): Promise<void> {
  const configPath = resolve(ROOT, 'tsconfig.build.json');
  const read = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p));
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, ROOT, undefined, configPath);
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options, projectReferences: parsed.projectReferences ?? [] });
  const result = program.emit(undefined, writeIfChanged);
  const errors = [...ts.getPreEmitDiagnostics(program), ...result.diagnostics].filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length > 0) {
    const host: ts.FormatDiagnosticsHost = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => ROOT, getNewLine: () => '\n' };
    throw new Error(`the build of dist/ failed:\n${ts.formatDiagnostics(errors.slice(0, 10), host)}`);
  }
  await bundleBin();
}
