/**
 * The import direction of SPEC.md section 1, checked by test/architecture/layers.test.ts.
 * harness -> simulator, contracts, reference-server; reference-server -> simulator;
 * contracts -> simulator; simulator -> nothing of ours; nothing outside test/ -> harness.
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
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-dev-deps-at-run-time',
      comment: 'what the cmcard bin loads must be a production dependency',
      severity: 'error',
      from: { path: '^(simulator|contracts|reference-server|harness)/' },
      to: { dependencyTypes: ['npm-dev'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
  },
};
