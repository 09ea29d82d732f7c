/**
 * The embedded object store: buckets are directories under a root, objects are files, and
 * ETags are computed as S3 computes them (MD5, or the multipart form for bodies over one
 * part), so sync and the contents provider behave the same on it as on S3.
 *
 * Layout under `root`:
 * - `<bucket>/<key>`: object bytes; a folder marker `d/` is the file `<bucket>/d/.nbg-folder`;
 * - `.nbg/meta/<bucket>/<key>`: JSON metadata (ETag, content type, and the size, mtime and
 *   inode it was computed for; a file changed behind our back gets its MD5 recomputed);
 * - `.nbg/uploads/<bucket>/<uploadId>/`: multipart uploads in progress;
 * - `.nbg/tmp/`: writes land here first and are renamed into place (atomic for readers).
 *
 * #### Notes
 * A directory tree cannot hold both `a` and `a/b`, nor empty path segments: such keys are
 * refused with `InvalidObjectKeyError`. Bucket names follow S3's rules, so no bucket can be
 * named `.nbg`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type Stats } from 'node:fs';
import { copyFile, mkdir, open, readdir, readFile, rename, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DEFAULT_PART_SIZE, EtagHasher, MIN_PART_SIZE, multipartEtag, partSizeFor } from './etag';
import { listTree } from './fs-listing';
import {
  InvalidObjectKeyError, NoSuchBucketError, NoSuchUploadError, ObjectNotFoundError, compareKeys,
  type IMultipartObjectStore, type ListOptions, type ListPage, type ObjectInfo, type PartInfo, type PutOptions, type UploadInfo
} from './object-store';

export interface FsObjectStoreOptions {
  root: string;
  /** Part size of the multipart ETags `put` computes (default 8 MiB). */
  partSize?: number;
}

const FOLDER_MARKER = '.nbg-folder';
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

interface Meta {
  etag: string;
  size: number;
  mtimeMs: number;
  ino: number;
  contentType?: string;
}

export class FsObjectStore implements IMultipartObjectStore {
  readonly kind = 'fs' as const;
  readonly partSize: number;
  private readonly _root: string;

  constructor(opts: FsObjectStoreOptions) {
    this._root = opts.root;
    this.partSize = Math.max(opts.partSize ?? DEFAULT_PART_SIZE, MIN_PART_SIZE);
  }

  // ---- paths --------------------------------------------------------------------------

  private _bucketDir(bucket: string): string {
    if (!BUCKET_RE.test(bucket) || bucket.includes('..')) {
      throw new Error(`invalid bucket name "${bucket}": 3–63 characters, lowercase letters, digits, "." and "-"`);
    }
    return join(this._root, bucket);
  }

  /** Path segments of a key under its bucket directory. @throws InvalidObjectKeyError */
  private _segments(key: string): string[] {
    if (key.length === 0) throw new InvalidObjectKeyError(key, 'it is empty');
    if (Buffer.byteLength(key) > 1024) throw new InvalidObjectKeyError(key, 'it is longer than 1024 bytes');
    if (key.includes('\0')) throw new InvalidObjectKeyError(key, 'it contains a NUL byte');
    const folder = key.endsWith('/');
    const parts = (folder ? key.slice(0, -1) : key).split('/');
    for (const p of parts) {
      if (p === '' || p === '.' || p === '..') throw new InvalidObjectKeyError(key, 'the filesystem store does not allow empty, "." or ".." segments');
      if (p === FOLDER_MARKER) throw new InvalidObjectKeyError(key, `"${FOLDER_MARKER}" is reserved`);
    }
    return folder ? [...parts, FOLDER_MARKER] : parts;
  }

  private _dataPath(bucket: string, key: string): string {
    return join(this._bucketDir(bucket), ...this._segments(key));
  }

  private _metaPath(bucket: string, key: string): string {
    return join(this._root, '.nbg', 'meta', bucket, ...this._segments(key));
  }

  private _uploadDir(bucket: string, uploadId: string): string {
    if (!/^[a-f0-9]{32}$/.test(uploadId)) throw new NoSuchUploadError(bucket, '', uploadId);
    return join(this._root, '.nbg', 'uploads', bucket, uploadId);
  }

  private async _tmpPath(): Promise<string> {
    const dir = join(this._root, '.nbg', 'tmp');
    await mkdir(dir, { recursive: true });
    return join(dir, randomBytes(12).toString('hex'));
  }

  private async _assertBucket(bucket: string): Promise<string> {
    const dir = this._bucketDir(bucket);
    const s = await stat(dir).catch(() => null);
    if (!s?.isDirectory()) throw new NoSuchBucketError(bucket);
    return dir;
  }

  // ---- reads --------------------------------------------------------------------------

  async list(bucket: string, opts: ListOptions): Promise<ListPage> {
    const bucketDir = await this._assertBucket(bucket);
    const page = await listTree(bucketDir, opts, FOLDER_MARKER);
    const objects: ObjectInfo[] = [];
    for (const e of page.entries) {
      const info = await this._info(bucket, e.key, e.path).catch(() => null);
      if (info) objects.push(info);
    }
    return { objects, prefixes: page.prefixes, ...(page.continuationToken ? { continuationToken: page.continuationToken } : {}) };
  }

  async head(bucket: string, key: string): Promise<ObjectInfo> {
    await this._assertBucket(bucket);
    return this._info(bucket, key, this._dataPath(bucket, key));
  }

  async get(bucket: string, key: string, opts: { range?: { start: number; end: number }; signal?: AbortSignal } = {}): Promise<Readable> {
    await this._assertBucket(bucket);
    const path = this._dataPath(bucket, key);
    // Open first so a missing key fails here, not on the stream's first read.
    const fh = await open(path, 'r').catch(err => {
      throw isMissing(err) ? new ObjectNotFoundError(bucket, key) : err;
    });
    const s = await fh.stat();
    if (!s.isFile()) {
      await fh.close();
      throw new ObjectNotFoundError(bucket, key);
    }
    const range = opts.range ? { start: opts.range.start, end: Math.min(opts.range.end, s.size - 1) } : {};
    return createReadStream('', { fd: fh, autoClose: true, ...range, ...(opts.signal ? { signal: opts.signal } : {}) });
  }

  /** Metadata of the file at `path`, recomputing the ETag when the file changed. */
  private async _info(bucket: string, key: string, path: string): Promise<ObjectInfo> {
    let s: Stats;
    try {
      s = await stat(path);
    } catch (err) {
      if (isMissing(err)) throw new ObjectNotFoundError(bucket, key);
      throw err;
    }
    if (!s.isFile()) throw new ObjectNotFoundError(bucket, key);
    const metaPath = this._metaPath(bucket, key);
    let meta = await readFile(metaPath, 'utf8').then(t => JSON.parse(t) as Meta).catch(() => null);
    if (!meta || meta.size !== s.size || meta.mtimeMs !== s.mtimeMs || meta.ino !== s.ino) {
      const hasher = new EtagHasher(partSizeFor(s.size, this.partSize));
      for await (const chunk of createReadStream(path)) hasher.update(chunk as Buffer);
      meta = { etag: hasher.digest(), size: s.size, mtimeMs: s.mtimeMs, ino: s.ino, ...(meta?.contentType ? { contentType: meta.contentType } : {}) };
      await this._writeMeta(metaPath, meta).catch(() => undefined);
    }
    return { key, size: s.size, etag: meta.etag, lastModified: s.mtime, ...(meta.contentType ? { contentType: meta.contentType } : {}) };
  }

  // ---- writes -------------------------------------------------------------------------

  async put(bucket: string, key: string, body: Buffer | Readable, opts: PutOptions = {}): Promise<ObjectInfo> {
    await this._assertBucket(bucket);
    const dest = this._dataPath(bucket, key);
    const tmp = await this._tmpPath();
    try {
      const hasher = new EtagHasher(partSizeFor(opts.size ?? (Buffer.isBuffer(body) ? body.length : 0), this.partSize));
      if (Buffer.isBuffer(body)) {
        hasher.update(body);
        await writeFile(tmp, body, opts.signal ? { signal: opts.signal } : {});
      } else {
        await pipeline(body, async function* (src: AsyncIterable<Buffer>) {
          for await (const chunk of src) {
            hasher.update(chunk);
            yield chunk;
          }
        }, createWriteStream(tmp), opts.signal ? { signal: opts.signal } : {});
      }
      return await this._commit(bucket, key, tmp, dest, hasher.digest(), opts.contentType);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** Moves a written temp file into place with its metadata. */
  private async _commit(bucket: string, key: string, tmp: string, dest: string, etag: string, contentType?: string): Promise<ObjectInfo> {
    const s = await stat(tmp);
    const meta: Meta = { etag, size: s.size, mtimeMs: s.mtimeMs, ino: s.ino, ...(contentType ? { contentType } : {}) };
    try {
      await mkdir(dirname(dest), { recursive: true });
      // Metadata first: a reader in between sees the old file with new metadata, notices the
      // mismatch (size, mtime, inode) and recomputes, so it never reports a wrong ETag.
      await this._writeMeta(this._metaPath(bucket, key), meta);
      await rename(tmp, dest);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR' || code === 'EEXIST' || code === 'EISDIR' || code === 'ENOTEMPTY') {
        throw new InvalidObjectKeyError(key, 'the filesystem store cannot hold both "a" and "a/…" as objects');
      }
      throw err;
    }
    return { key, size: s.size, etag, lastModified: s.mtime, ...(contentType ? { contentType } : {}) };
  }

  private async _writeMeta(path: string, meta: Meta): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify(meta));
    await rename(tmp, path);
  }

  async delete(bucket: string, keys: readonly string[]): Promise<void> {
    const bucketDir = await this._assertBucket(bucket);
    for (const key of keys) {
      let data: string;
      try {
        data = this._dataPath(bucket, key);
      } catch {
        continue; // a key we could never have stored is already absent
      }
      await unlink(data).catch(err => {
        if (!isMissing(err) && (err as NodeJS.ErrnoException).code !== 'EISDIR') throw err;
      });
      await rm(this._metaPath(bucket, key), { force: true });
      await pruneEmpty(dirname(data), bucketDir);
      await pruneEmpty(dirname(this._metaPath(bucket, key)), join(this._root, '.nbg', 'meta', bucket));
    }
  }

  async copy(bucket: string, fromKey: string, toKey: string): Promise<ObjectInfo> {
    const src = await this.head(bucket, fromKey);
    const tmp = await this._tmpPath();
    try {
      await copyFile(this._dataPath(bucket, fromKey), tmp);
      return await this._commit(bucket, toKey, tmp, this._dataPath(bucket, toKey), src.etag, src.contentType);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async ensureBucket(bucket: string): Promise<void> {
    await mkdir(this._bucketDir(bucket), { recursive: true });
  }

  // ---- multipart ----------------------------------------------------------------------

  async createMultipartUpload(bucket: string, key: string, opts: { contentType?: string } = {}): Promise<string> {
    await this._assertBucket(bucket);
    this._segments(key);
    const uploadId = randomBytes(16).toString('hex');
    const dir = this._uploadDir(bucket, uploadId);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'upload.json'), JSON.stringify({ key, initiated: Date.now(), contentType: opts.contentType }));
    return uploadId;
  }

  private async _upload(bucket: string, key: string, uploadId: string): Promise<{ dir: string; contentType?: string; initiated: number }> {
    const dir = this._uploadDir(bucket, uploadId);
    const info = await readFile(join(dir, 'upload.json'), 'utf8').then(t => JSON.parse(t) as { key: string; initiated: number; contentType?: string }).catch(() => null);
    if (!info || info.key !== key) throw new NoSuchUploadError(bucket, key, uploadId);
    return { dir, initiated: info.initiated, ...(info.contentType ? { contentType: info.contentType } : {}) };
  }

  async uploadPart(bucket: string, key: string, uploadId: string, partNumber: number, body: Buffer, opts: { md5?: Buffer } = {}): Promise<PartInfo> {
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000) throw new Error(`part number must be 1–10000, got ${partNumber}`);
    const { dir } = await this._upload(bucket, key, uploadId);
    const etag = (opts.md5 ?? createHash('md5').update(body).digest()).toString('hex');
    const name = String(partNumber).padStart(5, '0');
    const tmp = join(dir, `${name}.${randomBytes(4).toString('hex')}.tmp`);
    await writeFile(tmp, body);
    await writeFile(join(dir, `${name}.json`), JSON.stringify({ etag, size: body.length }));
    await rename(tmp, join(dir, `${name}.part`));
    return { partNumber, etag, size: body.length };
  }

  async listParts(bucket: string, key: string, uploadId: string): Promise<PartInfo[]> {
    const { dir } = await this._upload(bucket, key, uploadId);
    const parts: PartInfo[] = [];
    for (const name of (await readdir(dir)).sort()) {
      const m = /^(\d{5})\.part$/.exec(name);
      if (!m) continue;
      const meta = await readFile(join(dir, `${m[1]}.json`), 'utf8').then(t => JSON.parse(t) as { etag: string; size: number }).catch(() => null);
      if (meta) parts.push({ partNumber: Number(m[1]), etag: meta.etag, size: meta.size });
    }
    return parts;
  }

  async listMultipartUploads(bucket: string, prefix: string): Promise<UploadInfo[]> {
    await this._assertBucket(bucket);
    const root = join(this._root, '.nbg', 'uploads', bucket);
    const out: UploadInfo[] = [];
    for (const uploadId of await readdir(root).catch(() => [] as string[])) {
      const info = await readFile(join(root, uploadId, 'upload.json'), 'utf8').then(t => JSON.parse(t) as { key: string; initiated: number }).catch(() => null);
      if (info && info.key.startsWith(prefix)) out.push({ key: info.key, uploadId, initiated: new Date(info.initiated) });
    }
    return out.sort((a, b) => compareKeys(a.key, b.key) || a.initiated.getTime() - b.initiated.getTime());
  }

  async completeMultipartUpload(bucket: string, key: string, uploadId: string, parts: readonly { partNumber: number; etag: string }[]): Promise<ObjectInfo> {
    const upload = await this._upload(bucket, key, uploadId);
    const have = new Map((await this.listParts(bucket, key, uploadId)).map(p => [p.partNumber, p]));
    if (parts.length === 0) throw new Error('a multipart upload needs at least one part');
    const digests: Buffer[] = [];
    let last = 0;
    for (const [i, p] of parts.entries()) {
      const got = have.get(p.partNumber);
      if (p.partNumber <= last) throw new Error('parts must be listed in ascending order (InvalidPartOrder)');
      last = p.partNumber;
      if (!got || got.etag !== p.etag.replaceAll('"', '')) throw new Error(`part ${p.partNumber} was not uploaded or its ETag differs (InvalidPart)`);
      if (i < parts.length - 1 && got.size < MIN_PART_SIZE) throw new Error(`part ${p.partNumber} is smaller than 5 MiB and not the last (EntityTooSmall)`);
      digests.push(Buffer.from(got.etag, 'hex'));
    }
    const tmp = await this._tmpPath();
    try {
      const out = await open(tmp, 'w');
      try {
        for (const p of parts) {
          for await (const chunk of createReadStream(join(upload.dir, `${String(p.partNumber).padStart(5, '0')}.part`))) {
            await out.write(chunk as Buffer);
          }
        }
      } finally {
        await out.close();
      }
      const info = await this._commit(bucket, key, tmp, this._dataPath(bucket, key), multipartEtag(digests), upload.contentType);
      await rm(upload.dir, { recursive: true, force: true });
      return info;
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async abortMultipartUpload(bucket: string, _key: string, uploadId: string): Promise<void> {
    let dir: string;
    try {
      dir = this._uploadDir(bucket, uploadId);
    } catch {
      return;
    }
    await rm(dir, { recursive: true, force: true });
  }

  async dispose(): Promise<void> {
    /* nothing held open between calls */
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Removes empty directories from `dir` up to (not including) `stop`. */
async function pruneEmpty(dir: string, stop: string): Promise<void> {
  while (dir.startsWith(stop + '/') && dir !== stop) {
    try {
      await rmdir(dir);
    } catch {
      return;
    }
    dir = dirname(dir);
  }
}
