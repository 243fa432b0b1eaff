// Bundles the `cmcard` bin (dist/harness/cli.js, as tsc emitted it) into dist/bin/: the
// bootstrap as dist/bin/cmcard.js, and each lazily loaded part (a command, an engine) as a
// chunk of its own. A start then reads a handful of files instead of resolving, reading
// and compiling about a hundred modules one by one (measured: the embedded conformance run
// takes about 87% of the time of the same build unbundled; BENCHMARKS.md).
//
// Bundled: cmcard's own modules and the pure-JavaScript packages every start needs
// (commander; find-my-way and its dependencies for the embedded server). Every other
// dependency stays external and loads from node_modules as installed: native addons
// (better-sqlite3, kerberos, the Pact core) cannot be bundled, and the rest load only when
// a command needs them.
//
// Files are written atomically and only when changed, so a test run or a benchmark that
// is starting the bin meanwhile sees the old build or the new one, never a piece. Chunk
// names carry their content's hash: a chunk file never changes once written. `--clean`
// (npm run build) also deletes the chunks the new build no longer uses.
//
// Writes dist/bin/cmcard.meta.json (esbuild's metafile: which modules each output file
// holds) for the start-up test; it is not part of the package.
import { build } from 'esbuild';
import { Buffer } from 'node:buffer';
import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'dist/bin');
const ENTRY = join(ROOT, 'dist/harness/cli.js');
/** Dependencies compiled into the bin (with whatever they import). */
const BUNDLED = new Set(['commander', 'find-my-way']);

/** @param {{ clean?: boolean }} [options] */
export async function bundleBin(options = {}) {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const external = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})].filter((name) => !BUNDLED.has(name));
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: { cmcard: ENTRY },
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outdir: OUT,
    chunkNames: 'chunk-[hash]',
    // Subpaths too (httpntlm/ntlm.js, better-sqlite3/build/...).
    external: external.flatMap((name) => [name, `${name}/*`]),
    // CommonJS packages compiled into an ES module still call require() for Node's own modules.
    banner: { js: "import { createRequire as __cmcardCreateRequire } from 'node:module';\nconst require = __cmcardCreateRequire(import.meta.url);" },
    sourcemap: 'linked',
    metafile: true,
    legalComments: 'inline',
    logLevel: 'warning',
    write: false,
  });
  const written = new Set();
  for (const file of result.outputFiles) {
    writeIfChanged(file.path, file.contents);
    written.add(file.path);
  }
  const meta = join(OUT, 'cmcard.meta.json');
  writeIfChanged(meta, JSON.stringify(result.metafile));
  written.add(meta);
  chmodSync(join(OUT, 'cmcard.js'), 0o755);
  if (options.clean) {
    for (const name of readdirSync(OUT)) {
      const path = join(OUT, name);
      if (!written.has(path)) rmSync(path, { force: true });
    }
  }
  return { files: [...written].map((p) => relative(ROOT, p)) };
}

/**
 * Writes `contents` to `path` only when they differ from what is there, through a
 * temporary sibling renamed over it (atomic on POSIX): a reader sees the old file or the
 * new one, never a piece. Also used by the tests' build (test/support/global-setup.ts).
 * @param {string} path @param {string | Uint8Array} contents
 */
export function writeIfChanged(path, contents) {
  const bytes = typeof contents === 'string' ? Buffer.from(contents, 'utf8') : contents;
  try {
    if (Buffer.compare(readFileSync(path), bytes) === 0) return;
  } catch {
    // absent: write it
  }
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    writeFileSync(temporary, bytes);
    renameSync(temporary, path);
  } catch (err) {
    rmSync(temporary, { force: true });
    throw err;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const { files } = await bundleBin({ clean: process.argv.includes('--clean') });
    console.log(`bundle-bin: ${files.length} files in ${relative(ROOT, OUT)}/`);
  } catch (err) {
    console.error(`bundle-bin: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
