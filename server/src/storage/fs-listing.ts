/**
 * ListObjectsV2 over a directory tree (the filesystem store's listings): keys in UTF-8 byte
 * order, common prefixes for a delimiter, pages of at most 1000 with a continuation token.
 *
 * #### Notes
 * Only the directory holding the prefix is read; with `/` as delimiter its sub-directories
 * become common prefixes (when they hold any object) without being walked. Tokens are the
 * last key or prefix returned, so a page after a concurrent change still never repeats one.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { compareKeys, type ListOptions } from './object-store';

const MAX_KEYS = 1000;

export interface TreePage {
  /** Objects of the page: key and file path. */
  entries: { key: string; path: string }[];
  prefixes: string[];
  continuationToken?: string;
}

/**
 * One page of a listing of the bucket directory `bucketDir`.
 * @param marker - the file name that stands for a folder marker (`dir/`) in its directory.
 */
export async function listTree(bucketDir: string, opts: ListOptions, marker: string): Promise<TreePage> {
  const prefix = opts.prefix ?? '';
  const delimiter = opts.delimiter ?? '';
  const maxKeys = Math.min(Math.max(opts.maxKeys ?? MAX_KEYS, 1), MAX_KEYS);
  const after = opts.continuationToken ? Buffer.from(opts.continuationToken, 'base64url').toString('utf8') : '';
  const slash = prefix.lastIndexOf('/');
  const baseKey = slash >= 0 ? prefix.slice(0, slash + 1) : '';
  if (baseKey && baseKey.slice(0, -1).split('/').some(p => p === '' || p === '.' || p === '..')) return { entries: [], prefixes: [] };
  const baseDir = baseKey ? join(bucketDir, ...baseKey.slice(0, -1).split('/')) : bucketDir;

  const found: { name: string; isPrefix: boolean; path?: string }[] = [];
  const shallow = delimiter === '/';
  const walk = async (dir: string, keyPrefix: string): Promise<void> => {
    let list;
    try {
      list = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of list) {
      const isDir = e.isDirectory();
      const key = e.name === marker && !isDir ? keyPrefix : keyPrefix + e.name + (isDir ? '/' : '');
      if (key === '') continue;
      // Prune subtrees that cannot match the prefix.
      if (!(key.startsWith(prefix) || (isDir && prefix.startsWith(key)))) continue;
      if (!isDir) {
        found.push({ name: key, isPrefix: false, path: join(dir, e.name) });
      } else if (shallow && key.startsWith(prefix) && key.length > prefix.length) {
        if (await hasObjects(join(dir, e.name))) found.push({ name: key, isPrefix: true });
      } else {
        await walk(join(dir, e.name), key);
      }
    }
  };
  await walk(baseDir, baseKey);

  // A general delimiter folds keys into common prefixes after the walk.
  let items = found;
  if (delimiter && !shallow) {
    const seen = new Set<string>();
    items = [];
    for (const e of found) {
      const i = e.name.indexOf(delimiter, prefix.length);
      if (i < 0) items.push(e);
      else {
        const cp = e.name.slice(0, i + delimiter.length);
        if (!seen.has(cp)) {
          seen.add(cp);
          items.push({ name: cp, isPrefix: true });
        }
      }
    }
  }
  items.sort((a, b) => compareKeys(a.name, b.name));
  const start = after ? items.findIndex(e => compareKeys(e.name, after) > 0) : 0;
  const page = start < 0 ? [] : items.slice(start, start + maxKeys);
  const truncated = start >= 0 && start + maxKeys < items.length;
  return {
    entries: page.filter(e => !e.isPrefix).map(e => ({ key: e.name, path: e.path! })),
    prefixes: page.filter(e => e.isPrefix).map(e => e.name),
    ...(truncated ? { continuationToken: Buffer.from(page.at(-1)!.name, 'utf8').toString('base64url') } : {})
  };
}

/** True when a directory holds at least one file somewhere below it. */
async function hasObjects(dir: string): Promise<boolean> {
  let list;
  try {
    list = await readdir(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  for (const e of list) if (!e.isDirectory()) return true;
  for (const e of list) if (await hasObjects(join(dir, e.name))) return true;
  return false;
}
