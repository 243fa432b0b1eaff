import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

// Tests that spawn the CLI run the built bin, as a user would: build it once per vitest
// run. `npm test` builds first and sets CMCARD_DIST_FRESH=1 to skip this.
export default function setup(): void {
  if (process.env.CMCARD_DIST_FRESH === '1') return;
  execFileSync(process.execPath, [resolve(import.meta.dirname, '../../node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: resolve(import.meta.dirname, '../..'),
    stdio: 'inherit',
  });
}
