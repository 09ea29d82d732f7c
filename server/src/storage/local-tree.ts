/**
 * The local side of sync: a walk of a directory tree (regular files only) and a cache of the
 * ETags computed for its files, keyed by what changes when a file does (size, mtime, inode).
 */
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { candidatePartSizes, etagParts, fileEtag, partSizeFor } from './etag';

export interface LocalFile {
  /** `/`-separated path relative to the walked root. */
  rel: string;
  size: number;
  mtimeMs: number;
  ino: number;
}

/** Names sync writes while it works; never synced themselves. */
export const PARTIAL_SUFFIX = '.nbg-sync-part';

/**
 * Every regular file under `root` (symlinks, sockets and devices are skipped: following links
 * could leave the tree or loop). A missing root is an empty tree.
 */
export async function walkLocal(root: string, opts: { signal?: AbortSignal } = {}): Promise<Map<string, LocalFile>> {
  const out = new Map<string, LocalFile>();
  const walk = async (dir: string, relDir: string): Promise<void> => {
    opts.signal?.throwIfAborted();
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && relDir === '') return;
      throw err;
    }
    const subdirs: Promise<void>[] = [];
    const files: Promise<void>[] = [];
    for (const e of entries) {
      const rel = relDir ? `${relDir}/${e.name}` : e.name;
      if (e.isDirectory()) subdirs.push(walk(join(dir, e.name), rel));
      else if (e.isFile() && !e.name.endsWith(PARTIAL_SUFFIX) && !e.name.endsWith(`${PARTIAL_SUFFIX}.json`)) {
        files.push(stat(join(dir, e.name)).then(
          s => void out.set(rel, { rel, size: s.size, mtimeMs: s.mtimeMs, ino: s.ino }),
          () => undefined // vanished meanwhile
        ));
      }
    }
    await Promise.all([...files, ...subdirs]);
  };
  await walk(root, '');
  return out;
}

/** Total size of the regular files under `root`. */
export async function treeBytes(root: string, opts: { signal?: AbortSignal } = {}): Promise<number> {
  let n = 0;
  for (const f of (await walkLocal(root, opts)).values()) n += f.size;
  return n;
}

/** A part size no file reaches: the file's ETag is its plain MD5. */
const WHOLE = Number.MAX_SAFE_INTEGER;

interface CacheEntry {
  size: number;
  mtimeMs: number;
  ino: number;
  /** part size of a multipart ETag (or '0' for the plain MD5) → ETag */
  etags: Record<string, string>;
}

/**
 * Remembers the ETags of local files so that an unchanged tree is compared without reading
 * it again (a no-change push of thousands of files is then a listing and a walk).
 *
 * #### Notes
 * An entry is used only while the file's size, mtime and inode are the ones it was computed
 * for. The cache file is rewritten atomically; a missing or corrupt one is an empty cache.
 */
export class EtagCache {
  private _entries = new Map<string, CacheEntry>();
  /** Unfinished multipart uploads this machine started: object key → upload id. */
  private _uploads = new Map<string, string>();
  private _dirty = false;

  private constructor(private readonly _file: string | null) {}

  /** Loads the cache from `file` (null: in memory only). */
  static async open(file: string | null): Promise<EtagCache> {
    const c = new EtagCache(file);
    if (file) {
      try {
        const data = JSON.parse(await readFile(file, 'utf8')) as { v: number; etags: Record<string, CacheEntry>; uploads: Record<string, string> };
        if (data.v === 1) {
          c._entries = new Map(Object.entries(data.etags));
          c._uploads = new Map(Object.entries(data.uploads));
        }
      } catch {
        /* start empty */
      }
    }
    return c;
  }

  /**
   * The ETag `file` would have in a store, for a remote ETag (its part count picks the part
   * size) or, without one, for the store's own part size.
   * @param absPath - where the file is.
   */
  async etagFor(file: LocalFile, absPath: string, opts: { remoteEtag?: string; partSize: number; signal?: AbortSignal }): Promise<string> {
    const parts = opts.remoteEtag ? etagParts(opts.remoteEtag) : 0;
    // A plain MD5 remote ETag means a single-part object, whatever its size.
    const sizes = parts === 1 ? [WHOLE] : parts > 1 ? candidatePartSizes(file.size, parts, opts.partSize) : [partSizeFor(file.size, opts.partSize)];
    if (sizes.length === 0) return '';
    let first = '';
    for (const p of sizes) {
      const etag = await this._etag(file, absPath, p, opts.signal);
      first ||= etag;
      if (!opts.remoteEtag || etag === opts.remoteEtag) return etag;
    }
    return first;
  }

  private async _etag(file: LocalFile, absPath: string, partSize: number, signal?: AbortSignal): Promise<string> {
    const slot = file.size <= partSize ? '0' : String(partSize);
    const e = this._entries.get(file.rel);
    if (e && e.size === file.size && e.mtimeMs === file.mtimeMs && e.ino === file.ino && e.etags[slot]) return e.etags[slot]!;
    const { etag, size } = await fileEtag(absPath, partSize, signal);
    const after = await stat(absPath);
    // Cache only what describes the file as it still is.
    if (size === file.size && after.size === file.size && after.mtimeMs === file.mtimeMs) this.remember(file, etag, partSize);
    return etag;
  }

  /**
   * Records an ETag computed elsewhere (e.g. while uploading or downloading the file).
   * @param partSize - the part size of a multipart ETag (ignored for a plain MD5).
   */
  remember(file: LocalFile, etag: string, partSize: number): void {
    const slot = etagParts(etag) > 1 ? String(partSize) : '0';
    const e = this._entries.get(file.rel);
    if (e && e.size === file.size && e.mtimeMs === file.mtimeMs && e.ino === file.ino) e.etags[slot] = etag;
    else this._entries.set(file.rel, { size: file.size, mtimeMs: file.mtimeMs, ino: file.ino, etags: { [slot]: etag } });
    this._dirty = true;
  }

  /** Drops entries of files that no longer exist. */
  retain(present: ReadonlySet<string> | ReadonlyMap<string, unknown>): void {
    for (const rel of this._entries.keys()) {
      if (!present.has(rel)) {
        this._entries.delete(rel);
        this._dirty = true;
      }
    }
  }

  /** The upload id of an unfinished multipart upload of `key` started here, if any. */
  uploadFor(key: string): string | undefined {
    return this._uploads.get(key);
  }

  /** Journals (or, with null, forgets) the multipart upload of `key`, saved at once. */
  async journalUpload(key: string, uploadId: string | null): Promise<void> {
    if (uploadId) this._uploads.set(key, uploadId);
    else if (!this._uploads.delete(key)) return;
    this._dirty = true;
    await this.save();
  }

  private _saving: Promise<void> = Promise.resolve();

  /** Writes the cache file (serialised: concurrent calls write one after the other). */
  save(): Promise<void> {
    this._saving = this._saving.then(() => this._write(), () => this._write());
    return this._saving;
  }

  private async _write(): Promise<void> {
    if (!this._file || !this._dirty) return;
    this._dirty = false;
    await mkdir(dirname(this._file), { recursive: true });
    const tmp = `${this._file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify({ v: 1, etags: Object.fromEntries(this._entries), uploads: Object.fromEntries(this._uploads) }));
    await rename(tmp, this._file);
  }
}
