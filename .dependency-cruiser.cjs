/**
 * The import direction of the parts (ARCHITECTURE.md), checked by test/architecture/layers.test.ts.
 * harness -> simulator, contracts, reference-server; reference-server -> simulator;
 * contracts -> simulator; simulator -> nothing of ours; nothing outside test/ -> harness.
 * Inside the harness, floors from the bottom up: wire (HTTP, credentials, decoders, the
 * redaction policy) < config < cases (and the cryptogram judge, the unlock flow) <
 * runner, load engine, fuzz engine < reporters (events only) < commands < cli.ts.
 */
module.exports = {
  forbidden: [
    {
      name: 'simulator-is-the-core',
      comment: 'simulator/ is the pure core: it imports none of the other parts',
      severity: 'error',
      from: { path: '^simulator/' },
      to: { path: '^(contracts|reference-server|harness|bench)/' },
    },
    {
      name: 'reference-server-uses-only-simulator',
      comment: 'reference-server/ may import simulator/ only',
      severity: 'error',
      from: { path: '^reference-server/' },
      to: { path: '^(contracts|harness|bench)/' },
    },
    {
      name: 'contracts-use-only-simulator',
      comment: 'contracts/ may import simulator/ only',
      severity: 'error',
      from: { path: '^contracts/' },
      to: { path: '^(reference-server|harness|bench)/' },
    },
    {
      name: 'nothing-outside-test-imports-harness',
      comment: 'the harness is the top: only test/ imports it',
      severity: 'error',
      from: { path: '^(simulator|contracts|reference-server|bench)/' },
      to: { path: '^harness/' },
    },
    {
      name: 'harness-wire-is-the-floor',
      comment: 'harness/wire/ speaks HTTP and attaches credentials: it knows no config, case, runner, reporter or command',
      severity: 'error',
      from: { path: '^harness/wire/' },
      to: { path: '^harness/', pathNot: '^harness/(wire/|redact\\.ts$|events\\.ts$|one-line\\.ts$)' },
    },
    {
      name: 'cases-below-the-runner',
      comment: 'cases, the cryptogram judge and the unlock flow are below the runner, the load engine, reporters and commands',
      severity: 'error',
      from: { path: '^harness/(cases/|unlock-flow\\.ts$)' },
      to: { path: '^harness/(runner\\.ts$|load/|fuzz/|reporters/|commands/|cli|target\\.ts$|embedded\\.ts$)' },
    },
    {
      name: 'runner-and-load-know-no-commands-or-reporters',
      comment: 'the runner and the load engine emit events; commands choose the reporters',
      severity: 'error',
      from: { path: '^harness/(runner\\.ts$|load/)' },
      to: { path: '^harness/(commands/|reporters/|cli)' },
    },
    {
      name: 'fuzz-knows-no-commands-or-reporters',
      comment: 'the fuzz engine (model, commands, invariants, shrink output, replay) emits events like the runner; commands choose the reporters',
      severity: 'error',
      from: { path: '^harness/fuzz/' },
      to: { path: '^harness/(commands/|reporters/|cli|runner\\.ts$|load/|target\\.ts$|embedded\\.ts$)' },
    },
    {
      name: 'reporters-know-events-not-cases',
      comment: 'a reporter renders events (harness/events.ts); it knows no case, runner, client or command',
      severity: 'error',
      from: { path: '^harness/reporters/' },
      to: { path: '^harness/(cases/|runner\\.ts$|commands/|load/(engine|http)|fuzz/|wire/(?!endpoints\\.ts$)|config|cli|target\\.ts$)' },
    },
    {
      name: 'only-the-cli-imports-commands',
      comment: 'commands are thin leaves: only the CLI (cli.ts and the program it loads, cli-program.ts) registers them',
      severity: 'error',
      from: { path: '^harness/', pathNot: '^harness/(cli(-program)?\\.ts$|commands/)' },
      to: { path: '^harness/commands/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-dev-deps-at-run-time',
      comment: 'what the cmcard bin loads must be a production dependency',
      severity: 'error',
      // contracts/interactions.ts builds the pact in the consumer tests only (left out of the package).
      from: { path: '^(simulator|contracts|reference-server|harness)/', pathNot: '^contracts/interactions\\.ts$' },
      to: { dependencyTypes: ['npm-dev'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // node_modules stays in the graph (not followed), so the npm-dev rule sees imports of packages.
    exclude: { path: '^dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
  },
};
