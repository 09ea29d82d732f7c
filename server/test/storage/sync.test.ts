/**
 * Sync engine on the filesystem store: plan (diff), apply (parallel, resumable), limits and
 * the delete guard. The same engine runs against radosgw in test/integration/storage-sync.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MiB } from '../../src/storage/etag';
import { FsObjectStore } from '../../src/storage/fs-object-store';
import { walkLocal } from '../../src/storage/local-tree';
import { checkLimits, isSafeRel, plan, SyncRefusedError, type SyncSpec } from '../../src/storage/sync';
import { applyPlan } from '../../src/storage/sync-transfers';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function writeTree(root: string, files: Record<string, Buffer | string>): Promise<void> {
  for (const [rel, body] of Object.entries(files)) {
    await mkdir(dirname(join(root, rel)), { recursive: true });
    await writeFile(join(root, rel), body);
  }
}

async function treeHashes(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const rel of (await walkLocal(root)).keys()) out[rel] = sha(await readFile(join(root, rel)));
  return Object.fromEntries(Object.entries(out).sort());
}

describe('sync', () => {
  let dir: string;
  let store: FsObjectStore;
  let work: string;
  const spec = (over: Partial<SyncSpec> = {}): SyncSpec => ({
    direction: 'push', localRoot: work, store, bucket: 'bkt', prefix: 'users/alice/backup/', ...over
  });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbg-sync-'));
    store = new FsObjectStore({ root: join(dir, 'store'), partSize: 5 * MiB });
    await store.ensureBucket('bkt');
    work = join(dir, 'work');
    await writeTree(work, {
      'a.txt': 'alpha',
      'src/main.py': 'print(1)\n',
      'src/pkg/__init__.py': '',
      'data/blob.bin': randomBytes(200_000),
      'data/large.bin': randomBytes(12 * MiB + 7)
    });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('#plan() / #applyPlan()', () => {
    it('should push a tree, pull it back byte for byte, and plan nothing the second time', async () => {
      const p1 = await plan(spec());
      expect(p1.transfers.map(t => t.rel)).toEqual(['a.txt', 'data/blob.bin', 'data/large.bin', 'src/main.py', 'src/pkg/__init__.py']);
      const r1 = await applyPlan(p1);
      expect(r1).toMatchObject({ transferred: 5, filesFailed: 0, phase: 'done', bytesDone: p1.transferBytes });
      // The large file went up in parts, with the multipart ETag the store computes itself.
      expect((await store.head('bkt', 'users/alice/backup/data/large.bin')).etag).toMatch(/-3$/);

      const again = await plan(spec());
      expect(again.transfers).toEqual([]);
      expect(again.unchanged).toBe(5);

      const back = join(dir, 'back');
      const r2 = await applyPlan(await plan(spec({ direction: 'pull', localRoot: back })));
      expect(r2.transferred).toBe(5);
      expect(await treeHashes(back)).toEqual(await treeHashes(work));
      expect((await plan(spec({ direction: 'pull', localRoot: back }))).transfers).toEqual([]);
    });

    it('should detect a change that keeps the size', async () => {
      await applyPlan(await plan(spec()));
      await writeFile(join(work, 'a.txt'), 'ALPHA');
      const p = await plan(spec());
      expect(p.transfers).toEqual([expect.objectContaining({ rel: 'a.txt', reason: 'changed' })]);
    });

    it('should reuse remembered ETags instead of reading unchanged files', async () => {
      const cacheFile = join(dir, 'cache.json');
      await applyPlan(await plan(spec(), { cacheFile }));
      const file = JSON.parse(await readFile(cacheFile, 'utf8')) as { etags: Record<string, unknown>; uploads: Record<string, string> };
      const cached = file.etags;
      expect(file.uploads).toEqual({});
      expect(Object.keys(cached).sort()).toEqual(['a.txt', 'data/blob.bin', 'data/large.bin', 'src/main.py', 'src/pkg/__init__.py']);
      // Corrupt a cached ETag: a plan that trusts the cache now sees a change it cannot see
      // on disk, which proves the file was not read again.
      (cached['a.txt'] as { etags: Record<string, string> }).etags['0'] = 'f'.repeat(32);
      await writeFile(cacheFile, JSON.stringify(file));
      expect((await plan(spec(), { cacheFile })).transfers.map(t => t.rel)).toEqual(['a.txt']);
    });

    it('should copy only the selection', async () => {
      await applyPlan(await plan(spec()));
      const back = join(dir, 'sel');
      const p = await plan(spec({ direction: 'pull', localRoot: back, include: ['src/', 'a.txt'] }));
      expect(p.transfers.map(t => t.rel)).toEqual(['a.txt', 'src/main.py', 'src/pkg/__init__.py']);
      await applyPlan(p);
      expect([...(await walkLocal(back)).keys()].sort()).toEqual(['a.txt', 'src/main.py', 'src/pkg/__init__.py']);
    });

    it('should treat only plain relative paths as safe local paths', () => {
      for (const ok of ['a', 'a/b.txt', 'é/…/x']) expect(isSafeRel(ok)).toBe(true);
      for (const bad of ['', '/etc/passwd', 'a/../b', '../x', 'a//b', './a', 'a\0b'.replace('\\0', '\0')]) expect(isSafeRel(bad)).toBe(false);
    });
  });

  describe('deletes', () => {
    beforeEach(async () => {
      await applyPlan(await plan(spec()));
      await rm(join(work, 'a.txt'));
      await rm(join(work, 'src'), { recursive: true });
    });

    it('should never delete at the destination unless asked', async () => {
      const p = await plan(spec());
      expect(p.deletes).toEqual([]);
      await applyPlan(p);
      await expect(store.head('bkt', 'users/alice/backup/a.txt')).resolves.toBeDefined();
    });

    it('should delete what the source lacks when asked', async () => {
      const p = await plan(spec({ delete: true }));
      expect(p.deletes).toEqual(['a.txt', 'src/main.py', 'src/pkg/__init__.py']);
      const r = await applyPlan(p);
      expect(r.deletesDone).toBe(3);
      const left = (await store.list('bkt', { prefix: 'users/alice/backup/' })).objects.map(o => o.key);
      expect(left).toEqual(['users/alice/backup/data/blob.bin', 'users/alice/backup/data/large.bin']);
    });

    it('should refuse the whole plan when it deletes more than maxDelete', async () => {
      await writeFile(join(work, 'new.txt'), 'new');
      const err = await plan(spec({ delete: true, maxDelete: 2 })).then(() => null, (e: unknown) => e as SyncRefusedError);
      expect(err).toBeInstanceOf(SyncRefusedError);
      if (!err) return;
      expect(err.details).toEqual({ deletes: 3, maxDelete: 2 });
      expect(err.message).toMatch(/would delete 3 file\(s\).*more than the 2 allowed; nothing was copied or deleted/);
      await expect(store.head('bkt', 'users/alice/backup/new.txt')).rejects.toThrow();
      await expect(store.head('bkt', 'users/alice/backup/a.txt')).resolves.toBeDefined();
    });
  });

  describe('resuming', () => {
    it('should not resend files that an interrupted push finished', async () => {
      const many: Record<string, string> = {};
      for (let i = 0; i < 200; i++) many[`many/f${String(i).padStart(3, '0')}.txt`] = `file ${i}\n`;
      await writeTree(work, many);
      const abort = new AbortController();
      const first = await plan(spec());
      let done = 0;
      await expect(applyPlan(first, {
        concurrency: 4,
        signal: abort.signal,
        onProgress: p => {
          done = p.filesDone;
          if (p.filesDone >= 60) abort.abort(new Error('interrupted'));
        }
      })).rejects.toThrow('interrupted');
      let stored = 0;
      for (let page = await store.list('bkt', { prefix: 'users/alice/backup/' }); ; ) {
        stored += page.objects.length;
        if (!page.continuationToken) break;
        page = await store.list('bkt', { prefix: 'users/alice/backup/', continuationToken: page.continuationToken });
      }
      expect(done).toBeGreaterThanOrEqual(60);
      expect(stored).toBeGreaterThanOrEqual(done);
      expect(stored).toBeLessThan(first.transfers.length);
      const second = await plan(spec());
      // Every stored file is skipped; only the rest is planned again.
      expect(second.unchanged).toBe(stored);
      expect(second.transfers.length).toBe(first.transfers.length - stored);
      await applyPlan(second);
      expect((await plan(spec())).transfers).toEqual([]);
    });

    it('should resume a large upload without resending its finished parts', async () => {
      const key = 'users/alice/backup/data/large.bin';
      const body = await readFile(join(work, 'data/large.bin'));
      const id = await store.createMultipartUpload('bkt', key);
      await store.uploadPart('bkt', key, id, 1, body.subarray(0, 5 * MiB));
      await store.uploadPart('bkt', key, id, 2, randomBytes(5 * MiB)); // a part from older content
      const p = await plan(spec({ include: ['data/large.bin'] }));
      const r = await applyPlan(p);
      expect(r).toMatchObject({ transferred: 1, resumedParts: 1, filesFailed: 0 });
      expect(sha(await readFile(join(dir, 'store', 'bkt', key)))).toBe(sha(body));
      expect(await store.listMultipartUploads('bkt', key)).toEqual([]);
    });

    it('should resume a large download from its finished ranges', async () => {
      await applyPlan(await plan(spec({ include: ['data/large.bin'] })));
      const back = join(dir, 'back');
      const abort = new AbortController();
      const p = await plan(spec({ direction: 'pull', localRoot: back }));
      await expect(applyPlan(p, {
        concurrency: 1,
        signal: abort.signal,
        onProgress: pr => {
          if (pr.bytesDone >= 8 * MiB) abort.abort(new Error('interrupted'));
        }
      })).rejects.toThrow('interrupted');
      const partial = (await readdir(join(back, 'data'))).filter(n => n.endsWith('.nbg-sync-part.json'));
      expect(partial.length).toBe(1);
      const r = await applyPlan(await plan(spec({ direction: 'pull', localRoot: back })));
      expect(r.filesFailed).toBe(0);
      expect(sha(await readFile(join(back, 'data/large.bin')))).toBe(sha(await readFile(join(work, 'data/large.bin'))));
      expect((await readdir(join(back, 'data'))).filter(n => n.includes('nbg-sync'))).toEqual([]);
    });
  });

  describe('#checkLimits()', () => {
    it('should refuse more files than allowed, with the numbers', async () => {
      await applyPlan(await plan(spec()));
      const target = join(dir, 'target');
      const p = await plan(spec({ direction: 'pull', localRoot: target }));
      const err = await checkLimits(p, { maxFiles: 4, maxWorkBytes: 500 * MiB, workDir: target }).then(() => null, (e: unknown) => e as SyncRefusedError);
      expect(err).toBeInstanceOf(SyncRefusedError);
      if (!err) return;
      expect(err.details).toEqual({ files: 5, maxFiles: 4 });
    });

    it('should count what the work dir holds already', async () => {
      await applyPlan(await plan(spec()));
      const target = join(dir, 'target');
      await writeTree(target, { 'old.bin': randomBytes(1 * MiB) });
      const p = await plan(spec({ direction: 'pull', localRoot: target }));
      const limit = p.transferBytes + 1 * MiB - 1;
      const err = await checkLimits(p, { maxFiles: 1024, maxWorkBytes: limit, workDir: target }).then(() => null, (e: unknown) => e as SyncRefusedError);
      expect(err).toBeInstanceOf(SyncRefusedError);
      if (!err) return;
      expect(err.details).toEqual({ workBytes: 1 * MiB, incomingBytes: p.transferBytes, afterBytes: p.transferBytes + 1 * MiB, maxWorkBytes: limit });
      await expect(checkLimits(p, { maxFiles: 1024, maxWorkBytes: limit + 1, workDir: target })).resolves.toEqual({ workBytes: 1 * MiB, afterBytes: limit + 1 });
      expect((await stat(join(target, 'old.bin'))).size).toBe(1 * MiB);
    });
  });
});
