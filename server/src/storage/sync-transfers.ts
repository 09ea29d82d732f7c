/**
 * Applies a sync plan: parallel uploads or downloads, then the deletes the plan allows.
 *
 * #### Notes
 * - Small files and parts of large ones have pools of their own, so a few large files do not
 *   starve the many small ones, nor the reverse.
 * - Large uploads are multipart; an interrupted one is resumed: the newest unfinished upload
 *   of the key is reused and parts whose MD5 matches are not sent again.
 * - Downloads land in `<name>.nbg-sync-part` next to the file and are renamed when complete
 *   and verified against the ETag; a large one records finished ranges in `…part.json` and
 *   resumes from there.
 * - A failed file does not stop the others; the result lists the failures.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { EtagHasher, candidatePartSizes, etagParts, multipartEtag, partSizeFor } from './etag';
import { PARTIAL_SUFFIX, type LocalFile } from './local-tree';
import { AccessDeniedError, type UploadInfo } from './object-store';
import type { PlannedTransfer, SyncPlan } from './sync';

export interface SyncProgress {
  phase: 'transferring' | 'deleting' | 'done';
  filesTotal: number;
  filesDone: number;
  filesFailed: number;
  bytesTotal: number;
  bytesDone: number;
  deletesTotal: number;
  deletesDone: number;
}

export interface SyncResult extends SyncProgress {
  /** Files that were copied (all of the plan's when nothing failed). */
  transferred: number;
  /** Parts of large uploads that an earlier, interrupted run had already sent. */
  resumedParts: number;
  failures: { rel: string; error: string }[];
}

export interface ApplyOptions {
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (p: SyncProgress) => void;
}

/** A counting semaphore: the transfer pool. */
class Pool {
  private _free: number;
  private readonly _waiting: (() => void)[] = [];
  constructor(size: number) {
    this._free = size;
  }
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this._free > 0) this._free--;
    else await new Promise<void>(r => this._waiting.push(r));
    try {
      return await fn();
    } finally {
      const next = this._waiting.shift();
      if (next) next();
      else this._free++;
    }
  }
}

/**
 * Copies what the plan says, in parallel, then deletes what it allows.
 *
 * #### Notes
 * Small files and the parts of large ones go through two pools (`concurrency` slots and half
 * as many): small files wait on the store's per-request latency, parts on bandwidth, and
 * running both at once keeps both busy instead of finishing with a tail of large parts.
 */
export async function applyPlan(p: SyncPlan, opts: ApplyOptions = {}): Promise<SyncResult> {
  const { spec } = p;
  const signal = opts.signal;
  const concurrency = Math.max(1, opts.concurrency ?? 16);
  const pool = new Pool(concurrency);
  const parts = new Pool(Math.max(1, Math.ceil(concurrency / 2)));
  const r: SyncResult = {
    phase: 'transferring', filesTotal: p.transfers.length, filesDone: 0, filesFailed: 0, bytesTotal: p.transferBytes, bytesDone: 0,
    deletesTotal: p.deletes.length, deletesDone: 0, transferred: 0, resumedParts: 0, failures: []
  };
  const report = (): void => opts.onProgress?.({
    phase: r.phase, filesTotal: r.filesTotal, filesDone: r.filesDone, filesFailed: r.filesFailed, bytesTotal: r.bytesTotal,
    bytesDone: r.bytesDone, deletesTotal: r.deletesTotal, deletesDone: r.deletesDone
  });
  const ctx: Ctx = { p, pool, parts, signal, bytes: n => { r.bytesDone += n; report(); }, resumed: () => r.resumedParts++, uploads: new Map() };
  report();

  if (spec.direction === 'push' && p.transfers.some(t => t.size > partSizeFor(t.size, spec.store.partSize))) {
    // Uploads another machine (or a lost journal) left: found when the keys allow listing them.
    const found = await spec.store.listMultipartUploads(spec.bucket, spec.prefix, { signal }).catch(err => {
      if (err instanceof AccessDeniedError) return [];
      throw err;
    });
    for (const u of found) {
      const list = ctx.uploads.get(u.key) ?? [];
      list.push(u);
      ctx.uploads.set(u.key, list);
    }
  }
  if (spec.direction === 'pull') for (const d of p.folders) await mkdir(join(spec.localRoot, d), { recursive: true });

  // allSettled: on cancel, every transfer in flight has stopped before we return.
  await Promise.allSettled(p.transfers.map(async t => {
    try {
      signal?.throwIfAborted();
      if (spec.direction === 'push') await upload(ctx, t);
      else await download(ctx, t);
      r.transferred++;
      r.filesDone++;
    } catch (err) {
      if (signal?.aborted) return;
      r.filesFailed++;
      r.filesDone++;
      if (r.failures.length < 50) r.failures.push({ rel: t.rel, error: (err as Error).message });
    } finally {
      report();
    }
  }));
  await p.cache.save().catch(() => undefined);
  signal?.throwIfAborted();

  if (p.deletes.length) {
    r.phase = 'deleting';
    report();
    if (spec.direction === 'push') {
      const keys = p.deletes.map(rel => spec.prefix + rel);
      for (let i = 0; i < keys.length; i += 1000) {
        await spec.store.delete(spec.bucket, keys.slice(i, i + 1000), { signal });
        r.deletesDone += Math.min(1000, keys.length - i);
        report();
      }
    } else {
      for (const rel of p.deletes) {
        await unlink(join(spec.localRoot, rel)).catch(err => {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        });
        r.deletesDone++;
      }
      report();
    }
  }
  r.phase = 'done';
  report();
  return r;
}

interface Ctx {
  p: SyncPlan;
  /** Small files. */
  pool: Pool;
  /** Parts of large files. */
  parts: Pool;
  signal?: AbortSignal;
  bytes(n: number): void;
  resumed(): void;
  /** Unfinished multipart uploads under the prefix, by key. */
  uploads: Map<string, UploadInfo[]>;
}

async function upload(ctx: Ctx, t: PlannedTransfer): Promise<void> {
  const { spec, cache } = ctx.p;
  const { store, bucket } = spec;
  const abs = join(spec.localRoot, t.rel);
  const key = spec.prefix + t.rel;
  const file = t.local!;
  const partSize = partSizeFor(file.size, store.partSize);
  if (file.size <= partSize) {
    await ctx.pool.run(async () => {
      const body = await readFile(abs, ctx.signal ? { signal: ctx.signal } : {});
      const digest = createHash('md5').update(body).digest();
      const md5 = digest.toString('hex');
      const info = await store.put(bucket, key, body, { size: body.length, md5: digest, signal: ctx.signal });
      if (info.etag && info.etag !== md5) throw new Error(`the store reports ETag ${info.etag} for ${t.rel}, expected ${md5}`);
      if (body.length === file.size) cache.remember(file, md5, partSize);
      ctx.bytes(body.length);
    });
    return;
  }

  // Multipart, resuming the upload this machine journaled, or the newest one found.
  const journaled = cache.uploadFor(key);
  const found = (ctx.uploads.get(key) ?? []).sort((a, b) => b.initiated.getTime() - a.initiated.getTime());
  const previous = journaled ? [{ key, uploadId: journaled, initiated: new Date() }, ...found.filter(u => u.uploadId !== journaled)] : found;
  let uploadId: string | null = null;
  let have = new Map<number, { etag: string; size: number }>();
  for (const u of previous) {
    if (uploadId) {
      await store.abortMultipartUpload(bucket, key, u.uploadId).catch(() => undefined);
      continue;
    }
    try {
      have = new Map((await store.listParts(bucket, key, u.uploadId, { signal: ctx.signal })).map(x => [x.partNumber, x]));
      uploadId = u.uploadId;
    } catch {
      /* gone meanwhile */
    }
  }
  if (!uploadId) {
    uploadId = await store.createMultipartUpload(bucket, key, { signal: ctx.signal });
    await cache.journalUpload(key, uploadId);
  }
  const fh = await open(abs, 'r');
  try {
    const count = Math.ceil(file.size / partSize);
    const digests: Buffer[] = new Array(count);
    await Promise.all(Array.from({ length: count }, (_, i) => ctx.parts.run(async () => {
      ctx.signal?.throwIfAborted();
      const n = i + 1;
      const len = Math.min(partSize, file.size - i * partSize);
      const buf = Buffer.allocUnsafe(len);
      const { bytesRead } = await fh.read(buf, 0, len, i * partSize);
      if (bytesRead !== len) throw new Error(`${t.rel} changed size while it was being uploaded`);
      const md5 = createHash('md5').update(buf).digest();
      digests[i] = md5;
      const old = have.get(n);
      if (old && old.size === len && old.etag === md5.toString('hex')) {
        ctx.resumed();
      } else {
        await store.uploadPart(bucket, key, uploadId!, n, buf, { md5, signal: ctx.signal });
      }
      ctx.bytes(len);
    })));
    const expected = multipartEtag(digests);
    const info = await store.completeMultipartUpload(bucket, key, uploadId, digests.map((d, i) => ({ partNumber: i + 1, etag: d.toString('hex') })));
    await cache.journalUpload(key, null);
    if (info.etag !== expected) throw new Error(`the store reports ETag ${info.etag} for ${t.rel}, expected ${expected}`);
    const after = await fh.stat();
    if (after.size === file.size && after.mtimeMs === file.mtimeMs) cache.remember(file, expected, partSize);
  } finally {
    await fh.close();
  }
}

async function download(ctx: Ctx, t: PlannedTransfer): Promise<void> {
  const { spec, cache } = ctx.p;
  const { store, bucket } = spec;
  const key = spec.prefix + t.rel;
  const dest = join(spec.localRoot, t.rel);
  const etag = t.etag ?? '';
  // The partial file is tied to the object's ETag: a changed object starts over.
  const tag = createHash('sha1').update(etag).digest('hex').slice(0, 8);
  const part = `${dest}.${tag}${PARTIAL_SUFFIX}`;
  const journal = `${part}.json`;
  await mkdir(dirname(dest), { recursive: true });
  const parts = etagParts(etag);
  const partSize = parts > 1 ? candidatePartSizes(t.size, parts, store.partSize)[0] ?? partSizeFor(t.size, store.partSize) : partSizeFor(t.size, store.partSize);
  const chunk = Math.max(partSize, 8 * 1024 * 1024);
  const count = Math.max(1, Math.ceil(t.size / chunk));
  const done = new Set<number>(await readFile(journal, 'utf8').then(s => JSON.parse(s) as number[], () => []));
  if (done.size && !(await stat(part).catch(() => null))) done.clear();
  const fh = await open(part, done.size ? 'r+' : 'w');
  try {
    if (!done.size) await fh.truncate(t.size);
    let journalWrite = Promise.resolve();
    const pool = count > 1 ? ctx.parts : ctx.pool;
    await Promise.all(Array.from({ length: count }, (_, i) => pool.run(async () => {
      ctx.signal?.throwIfAborted();
      const start = i * chunk;
      const end = Math.min(start + chunk, t.size) - 1;
      if (done.has(i)) {
        ctx.bytes(end - start + 1);
        return;
      }
      if (t.size === 0) return;
      const body = await store.get(bucket, key, { range: count > 1 ? { start, end } : undefined, signal: ctx.signal });
      let pos = start;
      for await (const c of body as AsyncIterable<Buffer>) {
        await fh.write(c, 0, c.length, pos);
        pos += c.length;
        ctx.bytes(c.length);
      }
      if (pos !== end + 1) throw new Error(`short read of ${t.rel}: got ${pos - start} of ${end - start + 1} bytes`);
      if (count > 1) {
        done.add(i);
        journalWrite = journalWrite.then(() => writeFile(journal, JSON.stringify([...done])));
      }
    })));
    await journalWrite;
  } finally {
    await fh.close();
  }
  // Verify the whole file against the ETag before it replaces anything.
  const hasher = new EtagHasher(partSize);
  const rh = await open(part, 'r');
  try {
    for await (const c of rh.createReadStream({ autoClose: false })) hasher.update(c as Buffer);
  } finally {
    await rh.close();
  }
  const got = parts > 1 ? hasher.digest() : hasher.md5();
  if (etag && /^[0-9a-f]{32}(-\d+)?$/.test(etag) && got !== etag) {
    await rm(part, { force: true });
    await rm(journal, { force: true });
    throw new Error(`${t.rel} changed while it was downloaded (ETag ${got}, expected ${etag}); run the sync again`);
  }
  await rename(part, dest);
  await rm(journal, { force: true });
  const s = await stat(dest);
  const local: LocalFile = { rel: t.rel, size: s.size, mtimeMs: s.mtimeMs, ino: s.ino };
  cache.remember(local, got, partSize);
}
