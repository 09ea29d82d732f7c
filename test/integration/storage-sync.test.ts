/**
 * Object storage end to end against a real RADOS Gateway (issue 7): the built gateway with
 * `objectStore=s3` and STS-scoped instance keys, instances on the local runtime, and users
 * alice and bob.
 *
 * - OBS mode: JupyterLab's ContentsManager saves and opens a notebook through the gateway's
 *   proxy; it lands as an object under the instance's OBS path.
 * - Sync OBS within the limits, and refusals at 1025 files and at 501 MB with nothing copied.
 * - Push then pull of 2,000 files, byte for byte; an interrupted push resumes without
 *   re-sending finished files.
 * - Bob reaches nothing of alice's: not through the API, not with his instance's keys.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, stat, truncate, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ContentsManager, KernelManager, ServerConnection, type Contents } from '@jupyterlab/services';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { StsCredentials } from '../../server/src/storage/credentials';
import { AccessDeniedError } from '../../server/src/storage/object-store';
import { S3ObjectStore } from '../../server/src/storage/s3-object-store';
import { ROOT, startGatewayProcess, waitFor, type GatewayProcess } from '../utils/gateway-process';
import { startRadosGateway, type RadosGateway } from '../utils/radosgw';
import { keysUnder as keysUnderPrefix, startSync as startSyncJob, syncFinished, type SyncJob as Job } from '../utils/sync-api';

const MiB = 1024 * 1024;
const execFileP = promisify(execFile);
const BUCKET = 'nbtest-users';
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');


let rgw: RadosGateway;
let gw: GatewayProcess;
let admin: S3ObjectStore;
let roleArn: string;
const tokens: Record<string, string> = {};
const ids: Record<string, string> = {};

const workDir = (id: string): string => join(gw.dataDir, 'instances', id, 'work');
const post = (path: string, json: unknown, token: string): Promise<Response> => gw.api(path, { method: 'POST', token, json });

const startSync = (id: string, body: unknown, token = tokens.alice!): Promise<Job> => startSyncJob(gw, id, body, token);
const finished = (id: string, job: Job, token = tokens.alice!): Promise<Job> => syncFinished(gw, id, job, token);
const keysUnder = (prefix: string): Promise<string[]> => keysUnderPrefix(admin, BUCKET, prefix);

async function putMany(prefix: string, n: number): Promise<void> {
  for (let i = 0; i < n; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, n - i) }, (_, j) => admin.put(BUCKET, `${prefix}f${String(i + j).padStart(4, '0')}.txt`, Buffer.from(`object ${i + j}\n`))));
  }
}

beforeAll(async () => {
  rgw = await startRadosGateway();
  roleArn = await rgw.createRole('nbg-instance', rgw.admin);
  admin = new S3ObjectStore({ endpoint: rgw.endpoint, region: rgw.region, forcePathStyle: true, credentials: rgw.admin });
  gw = await startGatewayProcess({
    NBG_OBJECT_STORE: 's3',
    NBG_S3_ENDPOINT: rgw.endpoint,
    NBG_S3_FORCE_PATH_STYLE: 'true',
    NBG_S3_ACCESS_KEY_ID: rgw.admin.accessKeyId,
    NBG_S3_SECRET_ACCESS_KEY: rgw.admin.secretAccessKey,
    NBG_S3_STS_ROLE_ARN: roleArn,
    NBG_STORAGE_BUCKET: BUCKET
  });
  for (const name of ['alice', 'bob']) {
    const created = await post('/api/v1/users', { name, password: `${name}-password-1`, role: 'user' }, gw.adminToken);
    expect(created.status).toBe(201);
    const login = await post('/api/v1/auth/login', { username: name, password: `${name}-password-1` }, '');
    tokens[name] = ((await login.json()) as { token: string }).token;
  }
  const create = async (owner: string, name: string, storage: 'local' | 'obs'): Promise<void> => {
    const res = await post('/api/v1/notebooks', { name, image: 'python3.11-cpu-debian12', storage: { type: storage } }, tokens[owner]!);
    expect(res.status, await res.clone().text()).toBe(201);
    ids[name] = ((await res.json()) as { id: string }).id;
  };
  await create('alice', 'obsnb', 'obs');
  await create('alice', 'localnb', 'local');
  await create('bob', 'bobnb', 'local');
  for (const [name, id] of Object.entries(ids)) {
    const owner = name === 'bobnb' ? 'bob' : 'alice';
    await waitFor(async () => {
      const s = (await (await gw.api(`/api/v1/notebooks/${id}`, { token: tokens[owner] })).json()) as { status: string; statusReason: string };
      if (s.status === 'ERROR') throw new Error(`${name} failed: ${s.statusReason}`);
      return s.status === 'RUNNING';
    }, `${name} RUNNING`, 60_000);
  }
}, 300_000);

afterAll(async () => {
  await gw?.stop();
  await admin?.dispose();
  await rgw?.dispose();
});

describe('object storage with radosgw', () => {
  it('should tell each user their storage root', async () => {
    const me = (await (await gw.api('/api/v1/storage', { token: tokens.alice })).json()) as Record<string, unknown>;
    expect(me).toMatchObject({ store: 's3', bucket: BUCKET, prefix: 'users/alice/', instanceCredentials: 'sts', syncLimits: { maxFiles: 1024, maxWorkMB: 500 } });
  });

  it('should save and open a notebook in an obs instance as an object', async () => {
    const base = `${gw.url}/notebooks/${ids.obsnb}/`;
    const settings = ServerConnection.makeSettings({
      baseUrl: base, wsUrl: base.replace(/^http/, 'ws'), token: tokens.alice, appendToken: true,
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket
    });
    const contents = new ContentsManager({ serverSettings: settings });
    const created = await contents.newUntitled({ path: '', type: 'notebook' });
    const nb = (await contents.get(created.path)).content;
    nb.cells.push({ id: 'c1', cell_type: 'code', metadata: {}, execution_count: null, outputs: [], source: 'print(6 * 7)' });
    await contents.save(created.path, { type: 'notebook', format: 'json', content: nb });
    await contents.rename(created.path, 'analysis.ipynb');

    const key = 'users/alice/notebooks/obsnb/analysis.ipynb';
    const stored = JSON.parse((await buffer(await admin.get(BUCKET, key))).toString('utf8'));
    expect([stored.cells[0].source].flat().join('')).toBe('print(6 * 7)');
    const reopened = await contents.get('analysis.ipynb');
    expect(reopened.content.cells[0].source).toBe('print(6 * 7)');
    const listing = (await contents.get('')).content as Contents.IModel[];
    expect(listing.map(m => m.name)).toContain('analysis.ipynb');
    // The file browser shows the OBS path, not ~/work.
    await expect(stat(join(workDir(ids.obsnb!), 'analysis.ipynb'))).rejects.toThrow();
    contents.dispose();
  });

  describe('Sync OBS', () => {
    const obs = 'users/alice/notebooks/obsnb/';

    it('should copy the selected objects into ~/work and report progress', async () => {
      const bodies = { 'data/train.csv': Buffer.from('x,y\n1,2\n'), 'data/img/a.bin': randomBytes(300_000), 'data/img/b.bin': randomBytes(9 * MiB) };
      for (const [k, v] of Object.entries(bodies)) await admin.put(BUCKET, obs + k, v);
      const job = await startSync(ids.obsnb!, { kind: 'obs', sources: ['data/'] });
      expect(job.plan).toMatchObject({ files: 3, transfers: 3 });
      const done = await finished(ids.obsnb!, job);
      expect(done).toMatchObject({ state: 'succeeded', progress: { filesDone: 3, filesTotal: 3, phase: 'done' } });
      for (const [k, v] of Object.entries(bodies)) expect(sha(await readFile(join(workDir(ids.obsnb!), k)))).toBe(sha(v));
    });

    it('should copy exactly 1024 files', async () => {
      await putMany(`${obs}m1024/`, 1024);
      const done = await finished(ids.obsnb!, await startSync(ids.obsnb!, { kind: 'obs', sources: ['m1024/'] }));
      expect(done).toMatchObject({ state: 'succeeded', plan: { files: 1024 } });
      expect((await readdir(join(workDir(ids.obsnb!), 'm1024'))).length).toBe(1024);
    });

    it('should refuse 1025 files before copying anything', async () => {
      await putMany(`${obs}m1025/`, 1025);
      const res = await post(`/api/v1/notebooks/${ids.obsnb}/sync`, { kind: 'obs', sources: ['m1025/'] }, tokens.alice!);
      expect(res.status).toBe(403);
      const err = (await res.json()) as { code: string; message: string; details: Record<string, number> };
      expect(err.code).toBe('NB_ERR_SYNC_LIMIT');
      expect(err.details).toEqual({ files: 1025, maxFiles: 1024 });
      expect(err.message).toMatch(/1025 files, more than the 1024/);
      await expect(stat(join(workDir(ids.obsnb!), 'm1025'))).rejects.toThrow();
    });

    it('should refuse a sync that leaves ~/work at 501 MB, with the numbers, before copying anything', async () => {
      // ~/work holds what the first sync copied; a sparse file brings it to 480 MB exactly.
      const work = workDir(ids.obsnb!);
      let now = 0;
      for (const rel of ['data/train.csv', 'data/img/a.bin', 'data/img/b.bin']) now += (await stat(join(work, rel))).size;
      for (const f of await readdir(join(work, 'm1024'))) now += (await stat(join(work, 'm1024', f))).size;
      await writeFile(join(work, 'filler.bin'), '');
      await truncate(join(work, 'filler.bin'), 480 * MiB - now);
      await admin.put(BUCKET, `${obs}big/part.bin`, randomBytes(21 * MiB));
      const res = await post(`/api/v1/notebooks/${ids.obsnb}/sync`, { kind: 'obs', sources: ['big/'] }, tokens.alice!);
      expect(res.status).toBe(403);
      const err = (await res.json()) as { code: string; message: string; details: Record<string, number> };
      expect(err.code).toBe('NB_ERR_SYNC_LIMIT');
      expect(err.details).toEqual({ workBytes: 480 * MiB, incomingBytes: 21 * MiB, afterBytes: 501 * MiB, maxWorkBytes: 500 * MiB });
      expect(err.message).toMatch(/~\/work would hold 501 MB.*over the 500 MB/);
      await expect(stat(join(work, 'big'))).rejects.toThrow();
    });

    it('should refuse Sync OBS on a local-storage instance', async () => {
      const res = await post(`/api/v1/notebooks/${ids.localnb}/sync`, { kind: 'obs', sources: ['a'] }, tokens.alice!);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { message: string }).message).toMatch(/uses local storage/);
    });
  });

  describe('push and pull', () => {
    const files = new Map<string, Buffer>();

    beforeAll(async () => {
      const src = join(workDir(ids.localnb!), 'tree');
      for (let i = 0; i < 2000; i++) {
        const rel = `d${i % 20}/sub${i % 7}/file-${i}.${i % 3 === 0 ? 'csv' : 'txt'}`;
        files.set(rel, i === 7 || i === 1500 ? randomBytes(12 * MiB + i) : randomBytes(200 + (i * 37) % 4000));
      }
      for (const [rel, body] of files) {
        await mkdir(dirname(join(src, rel)), { recursive: true });
        await writeFile(join(src, rel), body);
      }
    });

    it('should push 2,000 files and pull them back byte for byte, then find nothing to do', async () => {
      const pushed = await finished(ids.localnb!, await startSync(ids.localnb!, { kind: 'push', path: 'tree', prefix: 'backup/tree/' }));
      expect(pushed).toMatchObject({ state: 'succeeded', plan: { files: 2000, transfers: 2000 } });
      expect((await keysUnder('users/alice/backup/tree/')).length).toBe(2000);
      // Large files went up in parts, with the ETag S3 computes.
      expect((await admin.head(BUCKET, 'users/alice/backup/tree/d7/sub0/file-7.txt')).etag).toMatch(/-2$/);

      const pulled = await finished(ids.localnb!, await startSync(ids.localnb!, { kind: 'pull', prefix: 'backup/tree/', path: 'restored' }));
      expect(pulled).toMatchObject({ state: 'succeeded', plan: { files: 2000, transfers: 2000 } });
      for (const [rel, body] of files) expect(sha(await readFile(join(workDir(ids.localnb!), 'restored', rel))), rel).toBe(sha(body));

      const again = await finished(ids.localnb!, await startSync(ids.localnb!, { kind: 'push', path: 'tree', prefix: 'backup/tree/' }));
      expect(again.plan).toMatchObject({ transfers: 0, unchanged: 2000 });
    });

    it('should resume an interrupted push without re-sending finished files', async () => {
      const first = await startSync(ids.localnb!, { kind: 'push', path: 'tree', prefix: 'backup/resume/', concurrency: 2 });
      await waitFor(async () => {
        const j = (await (await gw.api(`/api/v1/notebooks/${ids.localnb}/sync/${first.id}`, { token: tokens.alice })).json()) as Job;
        return j.progress.filesDone >= 300 || j.state !== 'running';
      }, '300 files pushed', 120_000, 50);
      const canceled = (await (await gw.api(`/api/v1/notebooks/${ids.localnb}/sync/${first.id}`, { method: 'DELETE', token: tokens.alice })).json()) as Job;
      expect(canceled.state).toBe('canceled');
      const stored = (await keysUnder('users/alice/backup/resume/')).length;
      expect(stored).toBeGreaterThanOrEqual(300);
      expect(stored).toBeLessThan(2000);

      const second = await startSync(ids.localnb!, { kind: 'push', path: 'tree', prefix: 'backup/resume/' });
      expect(second.plan).toMatchObject({ files: 2000, unchanged: stored, transfers: 2000 - stored });
      const done = await finished(ids.localnb!, second);
      expect(done.state).toBe('succeeded');
      expect((await keysUnder('users/alice/backup/resume/')).length).toBe(2000);
    });

    it('should delete at the destination only when asked, within maxDelete', async () => {
      await admin.put(BUCKET, 'users/alice/backup/tree/stray.txt', Buffer.from('not in ~/work'));
      const plain = await finished(ids.localnb!, await startSync(ids.localnb!, { kind: 'push', path: 'tree', prefix: 'backup/tree/' }));
      expect(plain.plan.deletes).toBe(0);
      await expect(admin.head(BUCKET, 'users/alice/backup/tree/stray.txt')).resolves.toBeDefined();
      const guarded = await post(`/api/v1/notebooks/${ids.localnb}/sync`, { kind: 'push', path: 'tree', prefix: 'backup/', delete: true }, tokens.alice!);
      expect(guarded.status).toBe(409);
      const err = (await guarded.json()) as { code: string; details: Record<string, number> };
      expect(err.code).toBe('NB_ERR_SYNC_DELETE_GUARD');
      expect(err.details.maxDelete).toBe(100);
      const del = await finished(ids.localnb!, await startSync(ids.localnb!, { kind: 'push', path: 'tree', prefix: 'backup/tree/', delete: true, maxDelete: 1 }));
      expect(del).toMatchObject({ state: 'succeeded', plan: { deletes: 1 } });
      await expect(admin.head(BUCKET, 'users/alice/backup/tree/stray.txt')).rejects.toThrow();
    });
  });

  describe('from the CLI and from inside the instance', () => {
    it('should push with `nbg sync` and list with `nbg storage ls`', async () => {
      const env = { ...process.env, NBG_URL: gw.url, NBG_TOKEN: tokens.alice!, HOME: gw.dataDir, XDG_CONFIG_HOME: join(gw.dataDir, 'cli-config') };
      const nbg = join(ROOT, 'server/dist/nbg.cjs');
      const push = await execFileP(process.execPath, [nbg, 'sync', 'localnb', 'push', 'tree/d1', '--to', 'from-cli/'], { env });
      expect(push.stdout).toMatch(/push \S+: succeeded, 100\/100 copied/);
      const ls = await execFileP(process.execPath, [nbg, 'storage', 'ls', 'from-cli/sub1/', '--json'], { env });
      const listed = JSON.parse(ls.stdout) as { path: string }[];
      expect(listed.length).toBeGreaterThan(0);
      expect(listed.every(o => o.path.startsWith('from-cli/sub1/'))).toBe(true);
      const refused = await execFileP(process.execPath, [nbg, 'sync', 'obsnb', 'obs', 'm1025/'], { env }).then(() => null, (e: { code: number; stderr: string }) => e);
      expect(refused?.code).toBe(1);
      expect(refused?.stderr).toMatch(/1025 files, more than the 1024 .*NB_ERR_SYNC_LIMIT/);
    });

    it('should run nbg-sync from a notebook kernel in the instance', async () => {
      const base = `${gw.url}/notebooks/${ids.localnb}/`;
      const settings = ServerConnection.makeSettings({
        baseUrl: base, wsUrl: base.replace(/^http/, 'ws'), token: tokens.alice, appendToken: true,
        WebSocket: WebSocket as unknown as typeof globalThis.WebSocket
      });
      const kernels = new KernelManager({ serverSettings: settings });
      const kernel = await kernels.startNew({ name: 'python3' });
      try {
        let out = '';
        const future = kernel.requestExecute({ code: "import subprocess\nr = subprocess.run(['nbg-sync', 'push', 'tree/d2', '--to', 'from-kernel/'], capture_output=True, text=True)\nprint(r.returncode, r.stdout, r.stderr)" });
        future.onIOPub = msg => {
          if (msg.header.msg_type === 'stream') out += (msg.content as { text: string }).text;
        };
        await future.done;
        expect(out).toMatch(/^0 push \S+: succeeded, 100\/100 copied/);
        expect((await keysUnder('users/alice/from-kernel/')).length).toBe(100);
      } finally {
        await kernel.shutdown();
        kernels.dispose();
      }
    });
  });

  describe('tenancy', () => {
    it('should keep bob away from alice\'s data through the API', async () => {
      const up = await gw.api('/api/v1/storage/objects?prefix=../alice/', { token: tokens.bob });
      expect(up.status).toBe(400);
      expect(((await up.json()) as { code: string }).code).toBe('NB_ERR_STORAGE_PATH_INVALID');
      const mine = (await (await gw.api('/api/v1/storage/objects?prefix=', { token: tokens.bob })).json()) as { objects: unknown[]; prefixes: string[] };
      expect(mine).toMatchObject({ objects: [], prefixes: [] });
      const escape = await post(`/api/v1/notebooks/${ids.bobnb}/sync`, { kind: 'pull', prefix: '../alice/backup/tree/' }, tokens.bob!);
      expect(escape.status).toBe(400);
      expect(((await escape.json()) as { code: string }).code).toBe('NB_ERR_STORAGE_PATH_INVALID');
      const other = await post(`/api/v1/notebooks/${ids.obsnb}/sync`, { kind: 'obs', sources: ['data/'] }, tokens.bob!);
      expect(other.status).toBe(404);
    });

    it('should give instances keys that reach only their owner\'s root', async () => {
      // The gateway's own broker, with the same role and keys, for bob's root.
      const broker = new StsCredentials({ endpoint: rgw.endpoint, region: rgw.region, roleArn, keys: rgw.admin, ttlSeconds: 900 });
      const keys = await broker.keysFor({ id: 'bob', name: 'bob' }, { bucket: BUCKET, prefix: 'users/bob/' });
      const bob = new S3ObjectStore({ endpoint: rgw.endpoint, region: rgw.region, forcePathStyle: true, credentials: keys });
      try {
        await bob.put(BUCKET, 'users/bob/mine.txt', Buffer.from('mine'));
        expect((await bob.list(BUCKET, { prefix: 'users/bob/' })).objects.map(o => o.key)).toEqual(['users/bob/mine.txt']);
        await expect(bob.list(BUCKET, { prefix: 'users/alice/' })).rejects.toBeInstanceOf(AccessDeniedError);
        await expect(bob.list(BUCKET, {})).rejects.toBeInstanceOf(AccessDeniedError);
        await expect(bob.get(BUCKET, 'users/alice/backup/tree/d0/sub0/file-0.csv')).rejects.toBeInstanceOf(AccessDeniedError);
        await expect(bob.put(BUCKET, 'users/alice/planted.txt', Buffer.from('x'))).rejects.toBeInstanceOf(AccessDeniedError);
        await expect(bob.delete(BUCKET, ['users/alice/backup/tree/d0/sub0/file-0.csv'])).rejects.toThrow();
        await expect(admin.head(BUCKET, 'users/alice/backup/tree/d0/sub0/file-0.csv')).resolves.toBeDefined();
      } finally {
        await bob.dispose();
        await broker.dispose();
      }
    });
  });
});
