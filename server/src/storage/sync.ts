/**
 * Sync between a local directory and an object-store prefix: `plan` compares the two sides
 * (size, then ETag) and lists what to copy and, only when asked, what to delete; `applyPlan`
 * copies in parallel (`sync-transfers.ts`). Re-running a finished sync plans nothing; re-running
 * an interrupted one copies only what did not finish, and resumes large uploads part by part.
 *
 * #### Notes
 * - Push never deletes remote objects and pull never deletes local files unless the spec says
 *   `delete`, and then `maxDelete` caps how many: a plan over the cap is refused whole.
 * - Keys that cannot be local paths (`..`, empty segments, NUL) are skipped and counted.
 * - Sync OBS limits (`SyncLimits`) are checked against the plan before anything is copied.
 */
import { join } from 'node:path';
import { listAll, type IMultipartObjectStore, type ObjectInfo } from './object-store';
import { EtagCache, walkLocal, treeBytes, type LocalFile } from './local-tree';

export type SyncDirection = 'push' | 'pull';

export interface SyncSpec {
  direction: SyncDirection;
  /** Absolute local directory (created by a pull when missing). */
  localRoot: string;
  store: IMultipartObjectStore;
  bucket: string;
  /** Remote prefix: empty or ending in `/`. */
  prefix: string;
  /**
   * Only these paths, relative to both roots: files, or directories ending in `/`. All
   * when absent.
   */
  include?: readonly string[];
  /** Delete at the destination what the source does not have (within `include`). */
  delete?: boolean;
  /** Refuse the plan when it would delete more than this many files (default 100). */
  maxDelete?: number;
}

export interface PlannedTransfer {
  rel: string;
  size: number;
  /** The source's ETag (remote, for pulls) or null when the local ETag is not known yet. */
  etag: string | null;
  reason: 'new' | 'changed';
  /** Set for pushes: the local file as walked. */
  local?: LocalFile;
}

export interface SyncPlan {
  spec: SyncSpec;
  transfers: PlannedTransfer[];
  /** Destination paths to delete (relative). */
  deletes: string[];
  /** Directories to create locally (pulled folder markers). */
  folders: string[];
  sourceFiles: number;
  sourceBytes: number;
  transferBytes: number;
  unchanged: number;
  /** Remote keys skipped because they cannot be local paths. */
  skippedKeys: string[];
  /** Size of each destination file a pull replaces (for the work-dir limit). */
  replacedBytes: number;
  cache: EtagCache;
}

/** Sync OBS limits (SPEC §4): checked before any copy. */
export interface SyncLimits {
  maxFiles: number;
  /** Largest size of the work dir after the sync, in bytes. */
  maxWorkBytes: number;
  /** The whole work dir (the pull target may be a sub-directory of it). */
  workDir: string;
}

/** A refusal with the numbers, raised before anything is copied or deleted. */
export class SyncRefusedError extends Error {
  constructor(message: string, readonly reason: 'files' | 'bytes' | 'delete', readonly details: Record<string, number>) {
    super(message);
    this.name = 'SyncRefusedError';
  }
}

export const DEFAULT_MAX_DELETE = 100;

/**
 * Compares both sides and returns what a sync would do.
 * @param opts.cacheFile - where local ETags are remembered between runs (null: memory only).
 */
export async function plan(spec: SyncSpec, opts: { cacheFile?: string | null; signal?: AbortSignal } = {}): Promise<SyncPlan> {
  const { signal } = opts;
  const cache = await EtagCache.open(opts.cacheFile ?? null);
  const [localAll, remoteAll] = await Promise.all([walkLocal(spec.localRoot, { signal }), listRemote(spec, signal)]);
  cache.retain(localAll);
  const included = (rel: string): boolean => !spec.include || spec.include.some(p => (p.endsWith('/') ? rel.startsWith(p) : rel === p));
  const local = new Map([...localAll].filter(([rel]) => included(rel)));
  const skippedKeys: string[] = [];
  const remote = new Map<string, ObjectInfo>();
  const folders: string[] = [];
  for (const [rel, o] of remoteAll) {
    if (!included(rel) && !(rel.endsWith('/') && spec.include?.includes(rel))) continue;
    if (!isSafeRel(rel.endsWith('/') ? rel.slice(0, -1) : rel)) skippedKeys.push(o.key);
    else if (rel.endsWith('/')) folders.push(rel.slice(0, -1));
    else remote.set(rel, o);
  }

  const p: SyncPlan = {
    spec, transfers: [], deletes: [], folders: spec.direction === 'pull' ? folders : [], sourceFiles: 0, sourceBytes: 0,
    transferBytes: 0, unchanged: 0, skippedKeys, replacedBytes: 0, cache
  };
  const partSize = spec.store.partSize;
  const compare = async (f: LocalFile, o: ObjectInfo): Promise<boolean> =>
    f.size === o.size && (await cache.etagFor(f, join(spec.localRoot, f.rel), { remoteEtag: o.etag, partSize, signal })) === o.etag;

  if (spec.direction === 'push') {
    await forEachLimit([...local.values()], 8, async f => {
      p.sourceFiles++;
      p.sourceBytes += f.size;
      const o = remote.get(f.rel);
      if (o && (await compare(f, o))) p.unchanged++;
      else p.transfers.push({ rel: f.rel, size: f.size, etag: null, reason: o ? 'changed' : 'new', local: f });
    });
    if (spec.delete) p.deletes = [...remote.keys()].filter(rel => !local.has(rel));
  } else {
    await forEachLimit([...remote.values()], 8, async o => {
      const rel = o.key.slice(spec.prefix.length);
      p.sourceFiles++;
      p.sourceBytes += o.size;
      const f = local.get(rel);
      if (f && (await compare(f, o))) p.unchanged++;
      else {
        p.transfers.push({ rel, size: o.size, etag: o.etag, reason: f ? 'changed' : 'new' });
        if (f) p.replacedBytes += f.size;
      }
    });
    if (spec.delete) p.deletes = [...local.keys()].filter(rel => !remote.has(rel));
  }
  p.transfers.sort((a, b) => (a.rel < b.rel ? -1 : 1));
  p.deletes.sort();
  p.transferBytes = p.transfers.reduce((n, t) => n + t.size, 0);
  const maxDelete = spec.maxDelete ?? DEFAULT_MAX_DELETE;
  if (p.deletes.length > maxDelete) {
    throw new SyncRefusedError(
      `the sync would delete ${p.deletes.length} file(s) at the destination, more than the ${maxDelete} allowed; nothing was copied or deleted. Raise maxDelete to at least ${p.deletes.length} if that is intended`,
      'delete',
      { deletes: p.deletes.length, maxDelete }
    );
  }
  return p;
}

/**
 * Checks a pull plan against the Sync OBS limits.
 * @throws SyncRefusedError with the numbers when a limit would be exceeded.
 */
export async function checkLimits(p: SyncPlan, limits: SyncLimits, signal?: AbortSignal): Promise<{ workBytes: number; afterBytes: number }> {
  if (p.sourceFiles > limits.maxFiles) {
    throw new SyncRefusedError(
      `the selection has ${p.sourceFiles} files, more than the ${limits.maxFiles} one sync may copy; nothing was copied. Select fewer files or sync in several steps`,
      'files',
      { files: p.sourceFiles, maxFiles: limits.maxFiles }
    );
  }
  const workBytes = await treeBytes(limits.workDir, { signal });
  const afterBytes = workBytes - p.replacedBytes + p.transferBytes;
  if (afterBytes > limits.maxWorkBytes) {
    throw new SyncRefusedError(
      `~/work would hold ${fmt(afterBytes)} after the sync (${fmt(workBytes)} now + ${fmt(p.transferBytes - p.replacedBytes)} more), over the ${fmt(limits.maxWorkBytes)} allowed; nothing was copied. Free space in ~/work or select less`,
      'bytes',
      { workBytes, incomingBytes: p.transferBytes - p.replacedBytes, afterBytes, maxWorkBytes: limits.maxWorkBytes }
    );
  }
  return { workBytes, afterBytes };
}

/** `523 MB (548405248 bytes)`: MB here is 1024 × 1024 bytes. */
function fmt(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(bytes % (1024 * 1024) === 0 ? 0 : 1)} MB (${bytes} bytes)`;
}

/** Remote objects under the prefix, by path relative to it. */
async function listRemote(spec: SyncSpec, signal?: AbortSignal): Promise<Map<string, ObjectInfo>> {
  const out = new Map<string, ObjectInfo>();
  // With a selection, list only the selected sub-prefixes (a few keys out of many).
  const roots = spec.include ? narrowest(spec.include.map(p => (p.endsWith('/') ? p : p))) : [''];
  for (const r of roots) {
    for await (const o of listAll(spec.store, spec.bucket, spec.prefix + r, { signal })) {
      out.set(o.key.slice(spec.prefix.length), o);
    }
  }
  return out;
}

/** Drops selections contained in another one (`a/` covers `a/b.txt`). */
function narrowest(paths: readonly string[]): string[] {
  const sorted = [...new Set(paths)].sort();
  return sorted.filter(p => !sorted.some(q => q !== p && q.endsWith('/') && p.startsWith(q)));
}

/** True for a relative path that stays inside its root on every platform we run on. */
export function isSafeRel(rel: string): boolean {
  if (!rel || rel.includes('\0') || rel.startsWith('/')) return false;
  return rel.split('/').every(s => s !== '' && s !== '.' && s !== '..');
}

/** Runs `fn` over `items` with at most `limit` at once. */
export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
