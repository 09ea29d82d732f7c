import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ContentsManager, ServerConnection, type Contents } from '@jupyterlab/services';
import { startGateway, type TestGateway } from '../utils/gateway';

/** JupyterLab's FileBrowserModel upload: 1 MiB base64 chunks numbered 1, 2, …, -1 for the last. */
async function uploadInChunks(contents: ContentsManager, path: string, data: Buffer): Promise<Contents.IModel> {
  const CHUNK = 1024 * 1024;
  let final: Contents.IModel | undefined;
  for (let start = 0; !final; start += CHUNK) {
    const end = start + CHUNK;
    const last = end >= data.length;
    const model = await contents.save(path, {
      type: 'file',
      format: 'base64',
      name: path.split('/').pop()!,
      chunk: last ? -1 : end / CHUNK,
      content: data.subarray(start, end).toString('base64')
    });
    if (last) final = model;
  }
  return final;
}

describe('contents through @jupyterlab/services', () => {
  let gw: TestGateway;
  let contents: ContentsManager;
  const auth = () => ({ Authorization: `token ${gw.token}` });

  beforeAll(async () => {
    gw = await startGateway();
    contents = new ContentsManager({ serverSettings: gw.settings });
  });

  afterAll(async () => {
    contents?.dispose();
    await gw?.dispose();
  });

  it('should create, save, list, rename, copy and delete a notebook', async () => {
    const created = await contents.newUntitled({ path: '', type: 'notebook' });
    expect(created).toMatchObject({ name: 'Untitled.ipynb', type: 'notebook' });
    const nb = (await contents.get(created.path)).content;
    nb.cells.push({ id: 'c1', cell_type: 'code', metadata: {}, execution_count: null, outputs: [], source: 'print("hi")' });
    const saved = await contents.save(created.path, { type: 'notebook', format: 'json', content: nb });
    expect(saved.last_modified >= created.last_modified).toBe(true);
    const renamed = await contents.rename(created.path, 'analysis.ipynb');
    expect(renamed.path).toBe('analysis.ipynb');
    await contents.save('sub', { type: 'directory' });
    const copied = await contents.copy('analysis.ipynb', 'sub');
    expect(copied.path).toBe('sub/analysis.ipynb');
    const again = await contents.copy('analysis.ipynb', '');
    expect(again.path).toBe('analysis-Copy1.ipynb');
    const listing = await contents.get('', { content: true });
    expect((listing.content as Contents.IModel[]).map(m => m.name).sort()).toEqual(['analysis-Copy1.ipynb', 'analysis.ipynb', 'sub']);
    const back = await contents.get('sub/analysis.ipynb');
    expect(back.content.cells[0].source).toBe('print("hi")');
    await contents.delete('sub');
    await expect(contents.get('sub')).rejects.toThrow();
  });

  it('should upload a 20 MB file in 1 MB chunks, byte for byte', async () => {
    const data = randomBytes(20 * 1024 * 1024 + 12345);
    const model = await uploadInChunks(contents, 'big.bin', data);
    expect(model).toMatchObject({ name: 'big.bin', path: 'big.bin', size: data.length, type: 'file' });
    const onDisk = await readFile(join(gw.rootDir, 'big.bin'));
    expect(onDisk.equals(data)).toBe(true);
    const hashed = await contents.get('big.bin', { content: false, hash: true });
    expect(hashed.hash).toBe(createHash('sha256').update(data).digest('hex'));
    expect((await readdir(gw.rootDir)).filter(n => n.startsWith('.~'))).toEqual([]);
  });

  it('should round-trip checkpoints', async () => {
    await contents.save('notes.md', { type: 'file', format: 'text', content: 'first' });
    const cp = await contents.createCheckpoint('notes.md');
    expect(cp.id).toBe('checkpoint');
    await contents.save('notes.md', { type: 'file', format: 'text', content: 'second' });
    expect(await contents.listCheckpoints('notes.md')).toEqual([cp]);
    await contents.restoreCheckpoint('notes.md', cp.id);
    expect((await contents.get('notes.md')).content).toBe('first');
    await contents.deleteCheckpoint('notes.md', cp.id);
    expect(await contents.listCheckpoints('notes.md')).toEqual([]);
  });

  it('should serve raw files for downloads', async () => {
    await writeFile(join(gw.rootDir, 'pic.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    const url = await contents.getDownloadUrl('pic.png');
    const res = await fetch(url, { headers: auth() });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect([...new Uint8Array(await res.arrayBuffer())]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    const dl = await fetch(`${url}?download=1`, { headers: auth() });
    expect(dl.headers.get('content-disposition')).toBe("attachment; filename*=UTF-8''pic.png");
    await dl.arrayBuffer();
  });

  it('should refuse paths that escape the root with 4xx and a Jupyter error body', async () => {
    const outside = join(gw.rootDir, '..', `outside-${Date.now()}`);
    await mkdir(outside);
    await writeFile(join(outside, 'secret'), 's');
    await symlink(outside, join(gw.rootDir, 'escape'));
    // `%2E%2E` segments are resolved by URL parsing before routing: that lands outside the
    // contents API (404), never on a file.
    const cases = [['..%2F..%2Fetc%2Fpasswd', 400], ['a/%2E%2E/%2E%2E/%2E%2E/etc', 404], ['escape/secret', 404], ['x%00y', 400], ['%2Fetc%2Fpasswd', 404]] as const;
    for (const [path, code] of cases) {
      const res = await fetch(`${gw.url}api/contents/${path}`, { headers: auth() });
      expect(res.status, path).toBe(code);
      const body = (await res.json()) as { message: string; reason: string };
      expect(body.message.length).toBeGreaterThan(0);
    }
    const err = await contents.get('escape/secret').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServerConnection.ResponseError);
    expect((err as ServerConnection.ResponseError).response.status).toBe(404);
    const put = await fetch(`${gw.url}api/contents/escape/new.txt`, {
      method: 'PUT', headers: auth(), body: JSON.stringify({ type: 'file', format: 'text', content: 'x' })
    });
    expect(put.status).toBe(404);
    expect(await readdir(outside)).toEqual(['secret']);
  });

  it('should answer PUT 201 for a new file and 200 for a replaced one, and refuse POST to a file', async () => {
    const put = (body: unknown) =>
      fetch(`${gw.url}api/contents/status.txt`, { method: 'PUT', headers: auth(), body: JSON.stringify(body) });
    const first = await put({ type: 'file', format: 'text', content: 'a' });
    expect(first.status).toBe(201);
    expect(first.headers.get('location')).toBe(`${new URL(gw.url).pathname}api/contents/status.txt`);
    expect((await put({ type: 'file', format: 'text', content: 'b' })).status).toBe(200);
    const post = await fetch(`${gw.url}api/contents/status.txt`, { method: 'POST', headers: auth(), body: '{}' });
    expect(post.status).toBe(400);
    expect(((await post.json()) as { message: string }).message).toContain('use PUT');
    const bad = await fetch(`${gw.url}api/contents/status.txt?content=2`, { headers: auth() });
    expect(bad.status).toBe(400);
    const chunk = await put({ type: 'file', format: 'text', content: 'b', chunk: 0 });
    expect(chunk.status).toBe(400);
  });

  it('should copy to an explicit new path with POST', async () => {
    await contents.save('src.txt', { type: 'file', format: 'text', content: 'copy me' });
    const res = await fetch(`${gw.url}api/contents/dst.txt`, { method: 'POST', headers: auth(), body: JSON.stringify({ copy_from: 'src.txt' }) });
    expect(res.status).toBe(201);
    expect(await readFile(join(gw.rootDir, 'dst.txt'), 'utf8')).toBe('copy me');
  });
});
