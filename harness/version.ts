import { createRequire } from 'node:module';

/** cmcard's version, from package.json (the bin runs from dist/harness, the tests from harness). */
export const VERSION: string = (() => {
  const require = createRequire(import.meta.url);
  for (const path of ['../../package.json', '../package.json']) {
    try {
      const pkg = require(path) as { name?: string; version?: string };
      if (pkg.name === 'cmcard' && pkg.version) return pkg.version;
    } catch {
      // not at this depth: try the next
    }
  }
  return 'unknown';
})();
