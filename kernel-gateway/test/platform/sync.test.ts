/**
 * The agent's sync API and `nbg-sync`, on the embedded object store: access push, Sync OBS
 * with its limits, push/pull, the delete guard, one sync at a time, cancel, and the CLI over
 * the agent's Unix socket.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FsObjectStore } from '../../../server/src/storage/fs-object-store';
import { startGateway, type TestGateway } from '../utils/gateway';
import { fsAccess } from './sync-fixtures';
import { StorageAccessHolder } from '../../src/platform/sync/access';
import { createLogger } from '../../src/logger';
import { run as nbgSync } from '../../src/platform/sync/cli';

const MiB = 1024 * 1024;

describe('sync API (agent)', () => {
  let gw: TestGateway;
  let storeDir: string;
  let store: FsObjectStore;
  const api = (path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> =>
    fetch(`${gw.url}api/nbg/sync/${path}`, {
      ...init,
      headers: { Authorization: `token ${gw.token}`, ...(init.json !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      body: init.json !== undefined ? JSON.stringify(init.json) : init.body
    });
  const waitDone = async (id: string): Promise<Record<string, unknown>> => {
    for (let i = 0; i < 300; i++) {
      const job = (await (await api(`jobs/${id}`)).json()) as Record<string, unknown>;
      if (job.state !== 'running') return job;
      await new Promise(r => setTimeout(r, 50));
    }
    throw new Error(`sync ${id} did not finish`);
  };

  beforeAll(async () => {
    storeDir = await mkdtemp(join(tmpdir(), 'nbkg-sync-store-'));
    store = new FsObjectStore({ root: storeDir });
    await store.ensureBucket('nbg-users');
    gw = await startGateway({ syncCacheDir: join(storeDir, 'cache') });
  });
  afterAll(async () => {
    await gw?.dispose();
    await rm(storeDir, { recursive: true, force: true });
  });

  it('should answer 503 while the gateway has not pushed the access', async () => {
    const holder = new StorageAccessHolder(createLogger('error'), { waitMs: 50 });
    await expect(holder.get()).rejects.toMatchObject({ status: 503, reason: 'storage-unavailable' });
    expect((await (await api('access')).json()) as unknown).toEqual({ available: false });
  });

  it('should refuse an invalid access push', async () => {
    const res = await api('access', { method: 'PUT', json: { kind: 's3', bucket: 'b' } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/access\./);
  });

  it('should take the access and describe it without keys', async () => {
    expect((await api('access', { method: 'PUT', json: fsAccess(storeDir, { syncLimits: { maxFiles: 5, maxWorkBytes: 2 * MiB } }) })).status).toBe(204);
    const got = (await (await api('access')).json()) as Record<string, unknown>;
    expect(got).toMatchObject({ available: true, kind: 'fs', bucket: 'nbg-users', root: 'users/alice/' });
  });

  it('should run Sync OBS within the limits and keep relative paths', async () => {
    await store.put('nbg-users', 'users/alice/notebooks/nb1/data/a.csv', Buffer.from('a,b\n1,2\n'));
    await store.put('nbg-users', 'users/alice/notebooks/nb1/data/sub/b.bin', randomBytes(1000));
    await store.put('nbg-users', 'users/alice/notebooks/nb1/other.txt', Buffer.from('not selected'));
    const res = await api('jobs', { method: 'POST', json: { kind: 'obs', sources: ['data/'] } });
    expect(res.status).toBe(202);
    const job = await waitDone(((await res.json()) as { id: string }).id);
    expect(job).toMatchObject({ state: 'succeeded', kind: 'obs', plan: { files: 2, transfers: 2 } });
    expect(await readFile(join(gw.rootDir, 'data/a.csv'), 'utf8')).toBe('a,b\n1,2\n');
    await expect(readFile(join(gw.rootDir, 'other.txt'))).rejects.toThrow();
  });

  it('should refuse Sync OBS over the file limit before copying anything', async () => {
    for (let i = 0; i < 6; i++) await store.put('nbg-users', `users/alice/notebooks/nb1/many/f${i}`, Buffer.from(String(i)));
    const res = await api('jobs', { method: 'POST', json: { kind: 'obs', sources: ['many/'] } });
    expect(res.status).toBe(403);
    const body = (await res.json()) as { reason: string; message: string; details: Record<string, number> };
    expect(body.reason).toBe('sync-limit');
    expect(body.details).toEqual({ files: 6, maxFiles: 5 });
    await expect(readFile(join(gw.rootDir, 'many/f0'))).rejects.toThrow();
  });

  it('should refuse Sync OBS that would leave ~/work over its size limit, with the numbers', async () => {
    await writeFile(join(gw.rootDir, 'big.local'), '');
    await truncate(join(gw.rootDir, 'big.local'), 1 * MiB);
    await store.put('nbg-users', 'users/alice/notebooks/nb1/huge.bin', randomBytes(MiB + 1));
    const res = await api('jobs', { method: 'POST', json: { kind: 'obs', sources: ['huge.bin'] } });
    expect(res.status).toBe(403);
    const body = (await res.json()) as { details: Record<string, number> };
    expect(body.details.maxWorkBytes).toBe(2 * MiB);
    expect(body.details.afterBytes).toBeGreaterThan(2 * MiB);
    await expect(readFile(join(gw.rootDir, 'huge.bin'))).rejects.toThrow();
    await rm(join(gw.rootDir, 'big.local'));
  });

  it('should push a sub-path to the default prefix, skip unchanged files, and plan a dry run', async () => {
    await mkdir(join(gw.rootDir, 'results'), { recursive: true });
    await writeFile(join(gw.rootDir, 'results/r1.txt'), 'one');
    await writeFile(join(gw.rootDir, 'results/r2.txt'), 'two');
    const first = await waitDone(((await (await api('jobs', { method: 'POST', json: { kind: 'push', path: 'results' } })).json()) as { id: string }).id);
    expect(first).toMatchObject({ state: 'succeeded', prefix: 'notebooks/nb1/', plan: { transfers: 2 } });
    expect((await store.head('nbg-users', 'users/alice/notebooks/nb1/r1.txt')).size).toBe(3);
    const dry = await api('jobs', { method: 'POST', json: { kind: 'push', path: 'results', dryRun: true } });
    expect(dry.status).toBe(200);
    expect(await dry.json()).toMatchObject({ state: 'planned', plan: { transfers: 0, unchanged: 2 } });
  });

  it('should refuse a delete over maxDelete and names outside the root', async () => {
    await rm(join(gw.rootDir, 'results/r1.txt'));
    await rm(join(gw.rootDir, 'results/r2.txt'));
    const guarded = await api('jobs', { method: 'POST', json: { kind: 'push', path: 'results', prefix: 'notebooks/nb1/', delete: true, maxDelete: 1 } });
    expect(guarded.status).toBe(409);
    expect(await guarded.json()).toMatchObject({ reason: 'sync-delete-guard' });
    expect((await store.head('nbg-users', 'users/alice/notebooks/nb1/r1.txt')).size).toBe(3);
    const escape = await api('jobs', { method: 'POST', json: { kind: 'pull', prefix: '../bob/' } });
    expect(escape.status).toBe(400);
    expect(await escape.json()).toMatchObject({ reason: 'storage-path' });
    const local = await api('jobs', { method: 'POST', json: { kind: 'pull', path: '../../etc' } });
    expect(local.status).toBe(400);
  });

  it('should run one sync at a time, and cancel', async () => {
    for (let i = 0; i < 300; i++) await writeFile(join(gw.rootDir, `bulk-${i}.txt`), `bulk ${i}\n`);
    const a = (await (await api('jobs', { method: 'POST', json: { kind: 'push', prefix: 'bulk/', concurrency: 1 } })).json()) as { id: string };
    for (let i = 0; i < 200; i++) {
      const p = ((await (await api(`jobs/${a.id}`)).json()) as { progress: { filesDone: number } }).progress;
      if (p.filesDone >= 20) break;
      await new Promise(r => setTimeout(r, 20));
    }
    const b = await api('jobs', { method: 'POST', json: { kind: 'push', prefix: 'bulk/' } });
    expect(b.status).toBe(409);
    expect(await b.json()).toMatchObject({ reason: 'sync-busy', details: { jobId: a.id } });
    const canceled = (await (await api(`jobs/${a.id}`, { method: 'DELETE' })).json()) as { state: string; progress: { filesDone: number } };
    expect(canceled.state).toBe('canceled');
    expect(canceled.progress.filesDone).toBeLessThan(300);
    const again = await waitDone(((await (await api('jobs', { method: 'POST', json: { kind: 'push', prefix: 'bulk/' } })).json()) as { id: string }).id);
    expect(again.state).toBe('succeeded');
    // What the canceled sync finished is not sent again.
    expect((again.plan as Record<string, number>).unchanged).toBeGreaterThanOrEqual(canceled.progress.filesDone);
    const plan = again.plan as Record<string, number>;
    expect(plan.transfers).toBe(plan.files! - plan.unchanged!);
    const list = (await (await api('jobs')).json()) as { items: { id: string }[] };
    expect(list.items[0]!.id).toBe(again.id as string);
  });

  it('should be usable from nbg-sync over the local socket', async () => {
    const socket = join(gw.config.runtimeDir, 'nbg-sync.sock');
    // In process, with stdout and stderr captured (the bundle is exercised in integration).
    const run = async (args: string[]): Promise<{ stdout: string; stderr: string }> => {
      const out: string[] = [];
      const err: string[] = [];
      const o = vi.spyOn(process.stdout, 'write').mockImplementation(c => (out.push(String(c)), true));
      const e = vi.spyOn(process.stderr, 'write').mockImplementation(c => (err.push(String(c)), true));
      let code: number;
      try {
        code = await nbgSync(args, { NBG_SYNC_SOCKET: socket });
      } finally {
        o.mockRestore();
        e.mockRestore();
      }
      if (code !== 0) throw new Error(`nbg-sync ${args.join(' ')} exited ${code}: ${err.join('')}${out.join('')}`);
      return { stdout: out.join(''), stderr: err.join('') };
    };
    await mkdir(join(gw.rootDir, 'cli'), { recursive: true });
    await writeFile(join(gw.rootDir, 'cli/x.txt'), 'from the cli');
    const push = await run(['push', 'cli', '--to', 'cli-test/']);
    expect(push.stdout).toMatch(/push \S+: succeeded, 1\/1 copied/);
    const ls = await run(['ls', 'cli-test/']);
    expect(ls.stdout).toMatch(/12 .* cli-test\/x\.txt/);
    const pull = await run(['pull', 'cli-back', '--from', 'cli-test/']);
    expect(pull.stdout).toMatch(/succeeded/);
    expect(await readFile(join(gw.rootDir, 'cli-back/x.txt'), 'utf8')).toBe('from the cli');
    const refused = await run(['obs', 'many/']).then(() => null, (e: Error) => e.message);
    expect(refused).toMatch(/6 files, more than the 5/);
    expect(dirname(socket)).toBe(gw.config.runtimeDir);
  }, 60_000);
});
