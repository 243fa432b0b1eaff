import { afterAll, describe, expect, it } from 'vitest';
import { cruise, type IReporterOutput } from 'dependency-cruiser';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const require = createRequire(import.meta.url);
const ruleSet = require('../../.dependency-cruiser.cjs');
const root = resolve(import.meta.dirname, '../..');

async function violations(baseDir: string, paths: string[]): Promise<string[]> {
  const { tsConfig: _ignored, ...options } = ruleSet.options;
  const result: IReporterOutput = await cruise(paths, { ...options, baseDir, validate: true, ruleSet });
  if (typeof result.output === 'string') throw new Error('expected a cruise result object');
  if (result.output.summary.totalCruised === 0) throw new Error(`nothing cruised under ${baseDir}`);
  return result.output.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);
}

describe('import direction (ARCHITECTURE.md)', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'cmcard-layers-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('the source folders keep the layering', async () => {
    const real = await violations(root, ['simulator', 'contracts', 'reference-server', 'harness', 'bench']);
    expect(real).toEqual([]);
  });

  it('the rules catch forbidden imports in a scratch tree', async () => {
    for (const dir of ['simulator', 'reference-server', 'harness', 'contracts']) mkdirSync(join(scratch, dir));
    writeFileSync(join(scratch, 'harness/client.ts'), 'export const x = 1;\n');
    writeFileSync(join(scratch, 'simulator/card.ts'), "import { x } from '../harness/client.js';\nexport const y = x;\n");
    writeFileSync(join(scratch, 'reference-server/app.ts'), "import { y } from '../contracts/pact.js';\nexport const z = y;\n");
    writeFileSync(join(scratch, 'contracts/pact.ts'), 'export const y = 2;\n');
    const found = await violations(scratch, ['simulator', 'reference-server', 'harness', 'contracts']);
    expect(found).toContain('simulator-is-the-core: simulator/card.ts -> harness/client.ts');
    expect(found).toContain('reference-server-uses-only-simulator: reference-server/app.ts -> contracts/pact.ts');
  });

  it('what the bin loads never imports a devDependency (the rule sees npm packages)', async () => {
    // A file in the real tree, so the package.json and node_modules resolve as they do for the code.
    const scratch = join(root, 'harness', `zz-dev-dep-${process.pid}.ts`);
    writeFileSync(scratch, "import nock from 'nock';\nexport const n = nock;\n");
    try {
      const found = await violations(root, [scratch.slice(root.length + 1)]);
      expect(found).toContain(`no-dev-deps-at-run-time: ${scratch.slice(root.length + 1)} -> node_modules/nock/index.js`);
    } finally {
      rmSync(scratch, { force: true });
    }
  });

  it('the harness floors catch an import that runs back up, and any cycle', async () => {
    const tree = mkdtempSync(join(tmpdir(), 'cmcard-floors-'));
    try {
      const file = (path: string, text: string): void => {
        mkdirSync(join(tree, path, '..'), { recursive: true });
        writeFileSync(join(tree, path), text);
      };
      file('harness/config.ts', 'export const c = 1;\n');
      file('harness/runner.ts', "import { r } from './reporters/json.js';\nexport const run = r;\n");
      file('harness/reporters/json.ts', "import { k } from '../cases/auth.js';\nexport const r = k;\n");
      file('harness/cases/auth.ts', "import { run } from '../runner.js';\nexport const k = 1;\nexport const u = run;\n");
      file('harness/wire/cm-client.ts', "import { c } from '../config.js';\nexport const w = c;\n");
      file('harness/load/engine.ts', "import { x } from '../commands/load.js';\nexport const e = x;\n");
      file('harness/commands/load.ts', 'export const x = 1;\n');
      file('harness/cli.ts', "import { x } from './commands/load.js';\nexport const cli = x;\n");
      file('harness/target.ts', "import { x } from './commands/load.js';\nexport const t = x;\n");
      file('harness/fuzz/engine.ts', "import { r } from '../reporters/json.js';\nimport { x } from '../commands/load.js';\nexport const f = r + x;\n");
      file('harness/cases/ids.ts', "import { f } from '../fuzz/engine.js';\nexport const i = f;\n");
      const found = await violations(tree, ['harness']);
      expect(found).toContain('harness-wire-is-the-floor: harness/wire/cm-client.ts -> harness/config.ts');
      expect(found).toContain('cases-below-the-runner: harness/cases/auth.ts -> harness/runner.ts');
      expect(found).toContain('runner-and-load-know-no-commands-or-reporters: harness/runner.ts -> harness/reporters/json.ts');
      expect(found).toContain('runner-and-load-know-no-commands-or-reporters: harness/load/engine.ts -> harness/commands/load.ts');
      expect(found).toContain('reporters-know-events-not-cases: harness/reporters/json.ts -> harness/cases/auth.ts');
      expect(found).toContain('only-the-cli-imports-commands: harness/target.ts -> harness/commands/load.ts');
      expect(found).toContain('fuzz-knows-no-commands-or-reporters: harness/fuzz/engine.ts -> harness/reporters/json.ts');
      expect(found).toContain('fuzz-knows-no-commands-or-reporters: harness/fuzz/engine.ts -> harness/commands/load.ts');
      expect(found).toContain('cases-below-the-runner: harness/cases/ids.ts -> harness/fuzz/engine.ts');
      expect(found.some((v) => v.startsWith('no-circular: '))).toBe(true);
      expect(found).not.toContain('only-the-cli-imports-commands: harness/cli.ts -> harness/commands/load.ts');
    } finally {
      rmSync(tree, { recursive: true, force: true });
    }
  });
});
