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

describe('import direction (SPEC.md section 1)', () => {
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
    writeFileSync(join(scratch, 'contracts/pact.ts'), "export const y = 2;\n");
    const found = await violations(scratch, ['simulator', 'reference-server', 'harness', 'contracts']);
    expect(found).toContain('simulator-is-the-core: simulator/card.ts -> harness/client.ts');
    expect(found).toContain('reference-server-uses-only-simulator: reference-server/app.ts -> contracts/pact.ts');
  });
});
