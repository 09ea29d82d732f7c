/**
 * Object storage with the embedded defaults (`./dev up`): the filesystem store under the data
 * dir and the local runtime. The REST API's checks and answers (roots, listing, sync requests,
 * refusals and their codes), the access the gateway pushes to agents, and the `obs` file
 * browser on the embedded store. The same flows against radosgw: storage-sync.test.ts.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../server/src/storage/fs-object-store';
import { startGatewayProcess, waitFor, type GatewayProcess } from '../utils/gateway-process';

interface Job { id: string; state: string; plan: Record<string, number>; progress: Record<string, number>; prefix: string }

let gw: GatewayProcess;
let store: FsObjectStore;
const tokens: Record<string, string> = {};
const ids: Record<string, string> = {};
const post = (path: string, json: unknown, token: string): Promise<Response> => gw.api(path, { method: 'POST', token, json });
const errOf = async (res: Response): Promise<{ status: number; code: string; message: string; details?: Record<string, unknown> }> => ({ status: res.status, ...((await res.json()) as { code: string; message: string }) });

async function sync(id: string, body: unknown, token = tokens.alice!): Promise<Job> {
  const res = await post(`/api/v1/notebooks/${id}/sync`, body, token);
  const job = (await res.json()) as Job;
  expect(res.status, JSON.stringify(job)).toBe(202);
  expect(res.headers.get('location')).toBe(`/api/v1/notebooks/${id}/sync/${job.id}`);
  return waitFor(async () => {
    const j = (await (await gw.api(`/api/v1/notebooks/${id}/sync/${job.id}`, { token })).json()) as Job;
    return j.state === 'running' ? null : j;
  }, `sync ${job.id}`, 60_000, 50);
}

beforeAll(async () => {
  gw = await startGatewayProcess({ NBG_SYNC_MAX_FILES: '5', NBG_SYNC_MAX_WORK_MB: '1' });
  store = new FsObjectStore({ root: join(gw.dataDir, 'objects') });
  for (const name of ['alice', 'bob']) {
    expect((await post('/api/v1/users', { name, password: `${name}-password-1`, role: 'user' }, gw.adminToken)).status).toBe(201);
    tokens[name] = ((await (await post('/api/v1/auth/login', { username: name, password: `${name}-password-1` }, '')).json()) as { token: string }).token;
  }
  for (const [owner, name, type] of [['alice', 'obs1', 'obs'], ['alice', 'loc1', 'local'], ['bob', 'bob1', 'local']] as const) {
    const res = await post('/api/v1/notebooks', { name, image: 'python3.11-cpu-debian12', storage: { type } }, tokens[owner]!);
    expect(res.status).toBe(201);
    ids[name] = ((await res.json()) as { id: string }).id;
  }
  for (const [name, id] of Object.entries(ids)) {
    const token = tokens[name === 'bob1' ? 'bob' : 'alice'];
    await waitFor(async () => ((await (await gw.api(`/api/v1/notebooks/${id}`, { token })).json()) as { status: string }).status === 'RUNNING', `${name} RUNNING`, 60_000);
  }
}, 120_000);

afterAll(async () => {
  await gw?.stop();
});

describe('object storage with the embedded store', () => {
  it('should report the root, and let an administrator move it', async () => {
    const me = (await (await gw.api('/api/v1/storage', { token: tokens.bob })).json()) as Record<string, unknown>;
    expect(me).toMatchObject({ store: 'fs', bucket: 'nbg-users', prefix: 'users/bob/', custom: false, instanceCredentials: 'none', syncLimits: { maxFiles: 5, maxWorkMB: 1 } });
    expect((await errOf(await gw.api('/api/v1/storage/users/bob', { method: 'PUT', token: tokens.alice, json: { bucket: 'x-team', prefix: 'b/' } }))).code).toBe('NB_ERR_FORBIDDEN');
    const bad = await errOf(await gw.api('/api/v1/storage/users/bob', { method: 'PUT', token: gw.adminToken, json: { bucket: 'team-a', prefix: 'a/../b/' } }));
    expect(bad).toMatchObject({ status: 400, code: 'NB_ERR_STORAGE_PATH_INVALID' });
    const set = await gw.api('/api/v1/storage/users/bob', { method: 'PUT', token: gw.adminToken, json: { bucket: 'team-a', prefix: 'people/bob' } });
    expect(await set.json()).toMatchObject({ bucket: 'team-a', prefix: 'people/bob/', custom: true });
    // Bob's running instance uses the new root at once.
    const agent = (await (await gw.api(`/notebooks/${ids.bob1}/api/nbg/sync/access`, { token: tokens.bob })).json()) as Record<string, unknown>;
    expect(agent).toMatchObject({ available: true, kind: 'fs', bucket: 'team-a', root: 'people/bob/', defaultPrefix: 'notebooks/bob1/' });
    expect(JSON.stringify(agent)).not.toMatch(/secret|dir/i);
    expect((await gw.api('/api/v1/storage/users/bob', { method: 'DELETE', token: gw.adminToken })).status).toBe(204);
    expect(((await (await gw.api('/api/v1/storage', { token: tokens.bob })).json()) as { prefix: string }).prefix).toBe('users/bob/');
    expect((await errOf(await gw.api('/api/v1/storage/users/nobody', { method: 'PUT', token: gw.adminToken, json: { bucket: 'aaa', prefix: '' } }))).code).toBe('NB_ERR_USER_NOT_FOUND');
  });

  it('should browse only the caller\'s root', async () => {
    await store.put('nbg-users', 'users/alice/data/a.csv', Buffer.from('a\n'));
    await store.put('nbg-users', 'users/alice/data/b/c.txt', Buffer.from('c'));
    const page = (await (await gw.api('/api/v1/storage/objects?prefix=data/', { token: tokens.alice })).json()) as Record<string, unknown>;
    expect(page).toMatchObject({ prefix: 'data/', objects: [{ path: 'data/a.csv', size: 2 }], prefixes: ['data/b/'], continuationToken: null });
    expect(((await (await gw.api('/api/v1/storage/objects', { token: tokens.bob })).json()) as { objects: unknown[] }).objects).toEqual([]);
    expect((await errOf(await gw.api('/api/v1/storage/objects?prefix=../alice/', { token: tokens.bob }))).code).toBe('NB_ERR_STORAGE_PATH_INVALID');
    expect((await errOf(await gw.api('/api/v1/storage/objects?maxKeys=0', { token: tokens.bob }))).code).toBe('NB_ERR_VALIDATION');
  });

  it('should refuse malformed sync requests with what is allowed', async () => {
    const cases: [unknown, string, RegExp][] = [
      [{ kind: 'copy' }, 'NB_ERR_VALIDATION', /kind/],
      [{ kind: 'obs' }, 'NB_ERR_VALIDATION', /sources/],
      [{ kind: 'push', sources: ['a'] }, 'NB_ERR_VALIDATION', /sources/],
      [{ kind: 'push', prefix: '/../etc/' }, 'NB_ERR_STORAGE_PATH_INVALID', /prefix/],
      [{ kind: 'pull', path: 'a/../../x' }, 'NB_ERR_STORAGE_PATH_INVALID', /path/],
      [{ kind: 'push', maxDelete: 5 }, 'NB_ERR_VALIDATION', /maxDelete/],
      [{ kind: 'push', concurrency: 500 }, 'NB_ERR_VALIDATION', /concurrency/],
      [{ kind: 'push', extra: true }, 'NB_ERR_VALIDATION', /extra/]
    ];
    for (const [body, code, message] of cases) {
      const e = await errOf(await post(`/api/v1/notebooks/${ids.loc1}/sync`, body, tokens.alice!));
      expect(e.status, JSON.stringify(body)).toBe(400);
      expect(e.code, JSON.stringify(body)).toBe(code);
      expect(e.message).toMatch(message);
    }
    expect((await errOf(await post(`/api/v1/notebooks/${ids.loc1}/sync`, { kind: 'push' }, tokens.bob!))).status).toBe(404);
    expect((await errOf(await gw.api(`/api/v1/notebooks/${ids.loc1}/sync/nosuch`, { token: tokens.alice }))).code).toBe('NB_ERR_SYNC_NOT_FOUND');
  });

  it('should run Sync OBS on the embedded store and refuse over its limits', async () => {
    await store.put('nbg-users', 'users/alice/notebooks/obs1/in/x.txt', Buffer.from('x'));
    const ok = await sync(ids.obs1!, { kind: 'obs', sources: ['in/'] });
    expect(ok).toMatchObject({ state: 'succeeded', prefix: 'notebooks/obs1/', plan: { files: 1 } });
    expect(await readFile(join(gw.dataDir, 'instances', ids.obs1!, 'work', 'in', 'x.txt'), 'utf8')).toBe('x');
    for (let i = 0; i < 6; i++) await store.put('nbg-users', `users/alice/notebooks/obs1/six/${i}`, Buffer.from('y'));
    const many = await errOf(await post(`/api/v1/notebooks/${ids.obs1}/sync`, { kind: 'obs', sources: ['six/'] }, tokens.alice!));
    expect(many).toMatchObject({ status: 403, code: 'NB_ERR_SYNC_LIMIT', details: { files: 6, maxFiles: 5 } });
    await store.put('nbg-users', 'users/alice/notebooks/obs1/big.bin', Buffer.alloc(1024 * 1024));
    const big = await errOf(await post(`/api/v1/notebooks/${ids.obs1}/sync`, { kind: 'obs', sources: ['big.bin'] }, tokens.alice!));
    expect(big).toMatchObject({ status: 403, code: 'NB_ERR_SYNC_LIMIT', details: { maxWorkBytes: 1024 * 1024 } });
    expect((await errOf(await post(`/api/v1/notebooks/${ids.loc1}/sync`, { kind: 'obs', sources: ['in/'] }, tokens.alice!))).message).toMatch(/uses local storage/);
  });

  it('should push and pull between ~/work and a prefix, and guard deletes', async () => {
    const work = join(gw.dataDir, 'instances', ids.loc1!, 'work');
    await mkdir(join(work, 'out'), { recursive: true });
    for (let i = 0; i < 3; i++) await writeFile(join(work, 'out', `r${i}.txt`), `result ${i}`);
    const pushed = await sync(ids.loc1!, { kind: 'push', path: 'out' });
    expect(pushed).toMatchObject({ state: 'succeeded', prefix: 'notebooks/loc1/', plan: { transfers: 3 } });
    expect((await store.head('nbg-users', 'users/alice/notebooks/loc1/r1.txt')).size).toBe(8);
    const dry = await post(`/api/v1/notebooks/${ids.loc1}/sync`, { kind: 'pull', path: 'back', dryRun: true }, tokens.alice!);
    expect(dry.status).toBe(200);
    expect(await dry.json()).toMatchObject({ state: 'planned', plan: { transfers: 3 } });
    const pulled = await sync(ids.loc1!, { kind: 'pull', path: 'back' });
    expect(pulled.plan.transfers).toBe(3);
    expect(await readFile(join(work, 'back', 'r2.txt'), 'utf8')).toBe('result 2');
    await store.put('nbg-users', 'users/alice/notebooks/loc1/extra1', Buffer.from('e'));
    await store.put('nbg-users', 'users/alice/notebooks/loc1/extra2', Buffer.from('e'));
    const guard = await errOf(await post(`/api/v1/notebooks/${ids.loc1}/sync`, { kind: 'push', path: 'out', delete: true, maxDelete: 1 }, tokens.alice!));
    expect(guard).toMatchObject({ status: 409, code: 'NB_ERR_SYNC_DELETE_GUARD', details: { deletes: 2, maxDelete: 1 } });
    const list = (await (await gw.api(`/api/v1/notebooks/${ids.loc1}/sync`, { token: tokens.alice })).json()) as { items: Job[] };
    expect(list.items.map(j => j.id)).toContain(pulled.id);
  });

  it('should serve the obs file browser from the embedded store', async () => {
    const base = `/notebooks/${ids.obs1}/api/contents`;
    const put = await gw.api(`${base}/hello.txt`, { method: 'PUT', token: tokens.alice, json: { type: 'file', format: 'text', content: 'hi there' } });
    expect(put.status).toBe(201);
    expect((await readFile(join(gw.dataDir, 'objects', 'nbg-users', 'users', 'alice', 'notebooks', 'obs1', 'hello.txt'), 'utf8'))).toBe('hi there');
    const listing = (await (await gw.api(`${base}/`, { token: tokens.alice })).json()) as { content: { name: string; type: string }[] };
    expect(listing.content.map(c => `${c.type}:${c.name}`).sort()).toEqual(expect.arrayContaining(['directory:in', 'directory:six', 'file:big.bin', 'file:hello.txt']));
  });
});
