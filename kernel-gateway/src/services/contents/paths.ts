/**
 * API paths → filesystem paths under the root, refusing anything that would escape it:
 * `..` segments, absolute paths, NUL bytes, and symlinks that resolve outside the root.
 */
import { realpath } from 'node:fs/promises';
import { join, posix, sep } from 'node:path';
import { JupyterError } from '../../errors';

/**
 * Normalises an API path (`/a//b/` → `a/b`) and checks its segments.
 * @throws 400 for NUL bytes, `..` or backslash tricks.
 */
export function normaliseApiPath(apiPath: string): string {
  if (apiPath.includes('\0')) throw new JupyterError(400, 'path must not contain NUL bytes');
  const parts = apiPath.split('/').filter(p => p !== '' && p !== '.');
  for (const p of parts) {
    if (p === '..') throw new JupyterError(400, `path "${apiPath}" must not contain ".." segments`);
    if (p.includes('\\')) throw new JupyterError(400, `path "${apiPath}" must not contain backslashes`);
  }
  return parts.join('/');
}

/**
 * Resolves an API path to an absolute path under `root`.
 * @param mustExist - when false, only the deepest existing ancestor is checked for symlinks.
 * @throws 400 for invalid paths, 404 when the path resolves outside the root.
 */
export async function resolveApiPath(root: string, apiPath: string): Promise<string> {
  const rel = normaliseApiPath(apiPath);
  const abs = join(root, ...rel.split('/'));
  const realRoot = await realpath(root);
  // Walk up to the deepest existing ancestor and make sure its real path stays inside.
  let probe = abs;
  for (;;) {
    try {
      const real = await realpath(probe);
      if (real !== realRoot && !real.startsWith(realRoot + sep)) {
        throw new JupyterError(404, `path "${rel}" is outside the root directory`);
      }
      break;
    } catch (err) {
      if (err instanceof JupyterError) throw err;
      const parent = join(probe, '..');
      if (parent === probe) break;
      probe = parent;
    }
  }
  return abs;
}

/** The API path of the directory holding `apiPath` (`a/b.ipynb` → `a`). */
export function apiDirname(apiPath: string): string {
  const d = posix.dirname(normaliseApiPath(apiPath));
  return d === '.' ? '' : d;
}
