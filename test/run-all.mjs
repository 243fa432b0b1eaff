// `npm test`: build, typecheck, lint (ESLint) and format (Prettier --check), then the vitest runs in their required order (unit, Pact
// consumer, Pact provider, packaging). Every step runs even when an earlier one failed,
// so one red unit test never hides the Pact results. Closes with `N passed, N failed`,
// counted from vitest's JSON reports (not its console summary).
//
// .ci/run runs it once per Node line: `--projects a,b` picks the vitest projects (in the
// order above), `--summary FILE` also writes the counts as JSON for .ci/run to sum.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const PROJECTS = ['unit', 'pact-consumer', 'pact-provider', 'packaging'];
let args;
try {
  ({ values: args } = parseArgs({ options: { projects: { type: 'string' }, summary: { type: 'string' } } }));
} catch (err) {
  console.error(`run-all: ${err.message} (options: --projects a,b  --summary FILE)`);
  process.exit(2);
}
const wanted =
  args.projects === undefined
    ? PROJECTS
    : args.projects
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean);
const unknown = wanted.filter((p) => !PROJECTS.includes(p));
if (unknown.length > 0 || wanted.length === 0) {
  console.error(`run-all: --projects takes some of ${PROJECTS.join(', ')}; got ${args.projects}`);
  process.exit(2);
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const results = join(root, '.vitest-results');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const env = { ...process.env, CMCARD_DIST_FRESH: '1', PACT_DO_NOT_TRACK: 'true' };

function run(label, command, args) {
  console.log(`\n== ${label}: ${[command, ...args].map((a) => a.replace(root + '/', '')).join(' ')}`);
  const r = spawnSync(command, args, { cwd: root, env, stdio: 'inherit' });
  return r.status ?? 1;
}

rmSync(results, { recursive: true, force: true });
mkdirSync(results, { recursive: true });

let passed = 0;
let failed = 0;
let skipped = 0;
const notes = [];

for (const [label, script] of [
  ['build', 'build'],
  ['typecheck', 'typecheck'],
  ['lint', 'lint'],
  ['format', 'format:check'],
]) {
  if (run(label, 'npm', ['run', '--silent', script]) !== 0) {
    failed += 1;
    notes.push(`${label} failed`);
  }
}

for (const project of PROJECTS.filter((p) => wanted.includes(p))) {
  const file = join(results, `${project}.json`);
  const code = run(`vitest ${project}`, bin('vitest'), ['run', '--project', project, '--reporter=default', '--reporter=json', `--outputFile.json=${file}`]);
  if (!existsSync(file)) {
    failed += 1;
    notes.push(`the ${project} run wrote no report (exit ${code})`);
    continue;
  }
  const report = JSON.parse(readFileSync(file, 'utf8'));
  let runFailed = report.numFailedTests;
  // A file that failed to load has no failed test in it: count it once.
  for (const f of report.testResults ?? []) {
    if (f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed')) {
      runFailed += 1;
      notes.push(`${project}: ${f.name.replace(root + '/', '')} failed outside any test`);
    }
  }
  if (report.numTotalTests === 0) {
    runFailed += 1;
    notes.push(`${project}: no test ran`);
  }
  // Unhandled errors fail the run without failing a test: count them too.
  if (code !== 0 && runFailed === 0) {
    runFailed = 1;
    notes.push(`${project}: vitest exited ${code} with no failed test (an unhandled error?)`);
  }
  passed += report.numPassedTests;
  failed += runFailed;
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
}

console.log('');
for (const note of notes) console.log(`note: ${note}`);
if (skipped > 0) console.log(`${skipped} skipped (each states its reason above)`);
if (args.summary !== undefined) writeFileSync(args.summary, `${JSON.stringify({ node: process.version, projects: wanted, passed, failed, skipped, notes })}\n`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
