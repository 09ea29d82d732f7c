/**
 * FsObjectStore: the object-store contract on a temporary directory, plus what only a
 * directory tree has (files changed behind the store's back, keys a tree cannot hold).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MiB } from '../../src/storage/etag';
import { FsObjectStore } from '../../src/storage/fs-object-store';
import { InvalidObjectKeyError } from '../../src/storage/object-store';
import { describeObjectStoreContract } from './object-store-contract';

describeObjectStoreContract('FsObjectStore', async () => {
  const root = await mkdtemp(join(tmpdir(), 'nbg-fsstore-'));
  const store = new FsObjectStore({ root, partSize: 5 * MiB });
  await store.ensureBucket('contract');
  return { store, bucket: 'contract', dispose: () => rm(root, { recursive: true, force: true }) };
});

describe('FsObjectStore', () => {
  let root: string;
  let store: FsObjectStore;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'nbg-fsstore-'));
    store = new FsObjectStore({ root });
    await store.ensureBucket('bkt1');
  });
  afterEach(async () => {
    await store.dispose();
    await rm(root, { recursive: true, force: true });
  });

  it('should recompute the ETag of a file edited behind its back', async () => {
    await store.put('bkt1', 'f.txt', Buffer.from('before'));
    await writeFile(join(root, 'bkt1', 'f.txt'), 'after, and longer');
    const head = await store.head('bkt1', 'f.txt');
    expect(head.etag).toBe(createHash('md5').update('after, and longer').digest('hex'));
  });

  it('should list files dropped into the bucket directory', async () => {
    await writeFile(join(root, 'bkt1', 'dropped.csv'), 'a,b\n');
    const page = await store.list('bkt1', {});
    expect(page.objects.map(o => o.key)).toEqual(['dropped.csv']);
  });

  it('should refuse keys a directory tree cannot hold', async () => {
    await store.put('bkt1', 'a', Buffer.from('file'));
    await expect(store.put('bkt1', 'a/b', Buffer.from('x'))).rejects.toBeInstanceOf(InvalidObjectKeyError);
    await expect(store.put('bkt1', 'x//y', Buffer.from('x'))).rejects.toBeInstanceOf(InvalidObjectKeyError);
    await expect(store.put('bkt1', '../escape', Buffer.from('x'))).rejects.toBeInstanceOf(InvalidObjectKeyError);
    await expect(store.put('bkt1', 'd/.nbg-folder', Buffer.from('x'))).rejects.toBeInstanceOf(InvalidObjectKeyError);
  });

  it('should refuse bucket names outside S3 rules', async () => {
    await expect(store.ensureBucket('.nbg')).rejects.toThrow(/invalid bucket name/);
    await expect(store.ensureBucket('../x')).rejects.toThrow(/invalid bucket name/);
  });

  it('should remove directories left empty by deletes', async () => {
    await store.put('bkt1', 'deep/er/x', Buffer.from('x'));
    await store.delete('bkt1', ['deep/er/x']);
    expect(await readdir(join(root, 'bkt1'))).toEqual([]);
  });

  it('should leave no temporary files behind', async () => {
    await store.put('bkt1', 'k', Buffer.from('x'));
    expect(await readdir(join(root, '.nbg', 'tmp'))).toEqual([]);
  });
});
