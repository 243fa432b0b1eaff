// `npm run bench`: runs every bench/*.bench.ts (compiled to dist/bench) in turn and prints
// their Markdown sections; BENCHMARKS.md records them with this command.
import { readdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();

const cpu = cpus();
console.log(`# cmcard benchmarks\n\nMachine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, Node ${process.version}\n`);
for (const file of files) {
  const mod = (await import(pathToFileURL(join(here, file)).href)) as { default: () => Promise<string> };
  try {
    console.log(await mod.default());
  } catch (err) {
    console.log(`## ${file}\n\nfailed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
