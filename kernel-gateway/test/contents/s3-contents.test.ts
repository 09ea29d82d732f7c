/**
 * The `obs` contents provider driven by JupyterLab's own client (`ContentsManager`), on the
 * embedded object store: what the file browser does (list, open, save, rename, copy, delete,
 * upload in chunks, checkpoints) lands as objects under the instance's OBS path.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContentsManager, type Contents } from '@jupyterlab/services';
import { FsObjectStore } from '../../../server/src/storage/fs-object-store';
import { startGateway, type TestGateway } from '../utils/gateway';
import { OBS_PATH, fsAccess } from '../platform/sync-fixtures';

const OBS = OBS_PATH;

describe('S3ContentsProvider (obs storage mode)', () => {
  let gw: TestGateway;
  let storeDir: string;
  let store: FsObjectStore;
  let contents: ContentsManager;

  beforeAll(async () => {
    storeDir = await mkdtemp(join(tmpdir(), 'nbkg-obs-'));
    store = new FsObjectStore({ root: storeDir });
    await store.ensureBucket('nbg-users');
    gw = await startGateway({ contentsProvider: 's3' });
    const res = await fetch(`${gw.url}api/nbg/sync/access`, {
      method: 'PUT', headers: { Authorization: `token ${gw.token}` }, body: JSON.stringify(fsAccess(storeDir))
    });
    expect(res.status).toBe(204);
    contents = new ContentsManager({ serverSettings: gw.settings });
  });
  afterAll(async () => {
    contents?.dispose();
    await gw?.dispose();
    await rm(storeDir, { recursive: true, force: true });
  });

  it('should save a notebook as an object and open it again', async () => {
    const created = await contents.newUntitled({ path: '', type: 'notebook' });
    expect(created).toMatchObject({ name: 'Untitled.ipynb', path: 'Untitled.ipynb', type: 'notebook' });
    const nb = (await contents.get(created.path)).content;
    nb.cells.push({ id: 'c1', cell_type: 'code', metadata: {}, execution_count: null, outputs: [], source: 'print("hi")' });
    await contents.save(created.path, { type: 'notebook', format: 'json', content: nb });
    const obj = JSON.parse((await buffer(await store.get('nbg-users', `${OBS}Untitled.ipynb`))).toString('utf8'));
    // On disk (and in the bucket) nbformat keeps sources as lists of lines.
    expect([obj.cells[0].source].flat().join('')).toBe('print("hi")');
    const back = await contents.get('Untitled.ipynb');
    expect(back.content.cells[0].source).toBe('print("hi")');
    // A notebook always has its checkpoint, as Jupyter keeps it.
    expect((await contents.listCheckpoints('Untitled.ipynb')).map(c => c.id)).toEqual(['checkpoint']);
  });

  it('should list folders and files, and hide dot-files', async () => {
    await contents.save('data', { type: 'directory' });
    await contents.save('data/a.txt', { type: 'file', format: 'text', content: 'A' });
    await store.put('nbg-users', `${OBS}data/deep/b.csv`, Buffer.from('x,y\n'));
    const listing = await contents.get('data');
    const names = (listing.content as Contents.IModel[]).map(m => `${m.type}:${m.name}`).sort();
    expect(names).toEqual(['directory:deep', 'file:a.txt']);
    const root = (await contents.get('')).content as Contents.IModel[];
    expect(root.map(m => m.name)).not.toContain('.ipynb_checkpoints');
    expect(root.find(m => m.name === 'data')?.type).toBe('directory');
  });

  it('should rename files and folders, and refuse to overwrite', async () => {
    await contents.save('r.txt', { type: 'file', format: 'text', content: 'r' });
    expect((await contents.rename('r.txt', 'r2.txt')).path).toBe('r2.txt');
    await expect(store.head('nbg-users', `${OBS}r.txt`)).rejects.toThrow();
    await expect(contents.rename('r2.txt', 'data/a.txt')).rejects.toThrow(/already exists/);
    await contents.rename('data', 'dataset');
    expect((await contents.get('dataset/deep/b.csv')).content).toBe('x,y\n');
    await expect(contents.get('data')).rejects.toThrow(/does not exist/);
  });

  it('should copy into a folder with a -Copy name and delete recursively', async () => {
    const copied = await contents.copy('r2.txt', '');
    expect(copied.path).toBe('r2-Copy1.txt');
    await contents.delete('dataset');
    await expect(contents.get('dataset')).rejects.toThrow(/does not exist/);
    expect((await store.list('nbg-users', { prefix: `${OBS}dataset/` })).objects).toEqual([]);
  });

  it('should upload a large file in JupyterLab chunks and serve it from files/', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const CHUNK = 1024 * 1024;
    let last: Contents.IModel | undefined;
    await contents.save('up', { type: 'directory' });
    for (let start = 0; start < data.length; start += CHUNK) {
      const end = start + CHUNK;
      last = await contents.save('up/big.bin', {
        type: 'file', format: 'base64', name: 'big.bin', chunk: end >= data.length ? -1 : end / CHUNK,
        content: data.subarray(start, end).toString('base64')
      });
    }
    expect(last).toMatchObject({ path: 'up/big.bin', size: data.length });
    const head = await store.head('nbg-users', `${OBS}up/big.bin`);
    expect(head.size).toBe(data.length);
    const res = await fetch(`${gw.url}files/up/big.bin`, { headers: { Authorization: `token ${gw.token}` } });
    expect(res.status).toBe(200);
    expect(createHash('sha256').update(Buffer.from(await res.arrayBuffer())).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('should answer 404 for missing paths and 400 for bad ones', async () => {
    await expect(contents.get('nope.txt')).rejects.toThrow(/does not exist/);
    const res = await fetch(`${gw.url}api/contents/a/../../x`, { headers: { Authorization: `token ${gw.token}` } });
    expect([400, 404]).toContain(res.status);
  });
});
