// Sums vitest JSON reports (--outputFile.json=...) into the closing line CI reads.
// A run that wrote no report (a build or typecheck failure before it) counts as a failure.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? '.vitest-results';
const expected = ['unit', 'pact-consumer', 'pact-provider'];
let passed = 0;
let failed = 0;
let skipped = 0;
for (const name of expected) {
  const file = join(dir, `${name}.json`);
  if (!existsSync(file)) {
    console.log(`ci: no report from the ${name} run`);
    failed += 1;
    continue;
  }
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests + (r.numFailedTestSuites ?? 0);
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  if (r.numTotalTests === 0) { console.log(`ci: the ${name} run executed no test`); failed += 1; }
}
const extra = existsSync(dir) ? readdirSync(dir).filter((f) => !expected.includes(f.replace(/\.json$/, ''))) : [];
if (extra.length) console.log(`ci: ignored unexpected reports: ${extra.join(', ')}`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
