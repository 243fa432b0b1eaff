/** Bundles dist/harness/cli.js into dist/bin/ (see bundle-bin.mjs); `clean` deletes chunks the build no longer uses. */
export function bundleBin(options?: { clean?: boolean }): Promise<{ files: string[] }>;
/** Writes `contents` only when they differ from the file's, atomically (temporary sibling, then rename). */
export function writeIfChanged(path: string, contents: string | Uint8Array): void;
