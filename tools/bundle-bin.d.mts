/** Bundles dist/harness/cli.js into dist/bin/ (see bundle-bin.mjs); `clean` deletes chunks the build no longer uses. */
export function bundleBin(options?: { clean?: boolean }): Promise<{ files: string[] }>;
