import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/**
 * Writes a report file, creating its folder. Written to a temporary sibling and renamed,
 * so a CI step that picks the file up never sees half a report.
 */
export async function writeReportFile(path: string, content: string): Promise<void> {
  await makeFolder(dirname(path));
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, content, 'utf8');
    await rename(temporary, path);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
}

/**
 * `mkdir -p`, one level at a time and bounded by the path's depth. Node's own recursive
 * mkdir loops forever where a folder cannot be made although its parent exists
 * (`/proc/nope`: ENOENT for the child, EEXIST for the parent, again and again); here every
 * failure ends it, with the error of the level that failed.
 */
export async function makeFolder(folder: string): Promise<void> {
  const missing: string[] = [];
  let at = resolve(folder);
  for (;;) {
    const found = await stat(at).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)));
    if (found) {
      if (!found.isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${resolve(folder)}' (${at} is a file)`), { code: 'ENOTDIR' });
      break;
    }
    missing.push(at);
    const parent = dirname(at);
    if (parent === at) break;
    at = parent;
  }
  for (const level of missing.reverse()) {
    await mkdir(level).catch((err: NodeJS.ErrnoException) => {
      // Made meanwhile by another writer: fine, if it is a folder (the next level tells).
      if (err.code !== 'EEXIST') throw err;
    });
  }
}
