/**
 * Object storage from Docker instances (issue 7): the built gateway on the Docker runtime with
 * `objectStore=s3` against a real RADOS Gateway and STS-scoped instance keys. The instance's
 * agent runs in a container on its owner's bridge network, where 127.0.0.1 is the container
 * itself: it reaches radosgw at `s3InstanceEndpoint`, the host side of Docker's default bridge
 * (radosgw listens there besides loopback; the gateway keeps using loopback).
 *
 * With the gateway's loopback endpoint as the instance endpoint both sync tests fail (503
 * NB_ERR_STORAGE_UNAVAILABLE, ECONNREFUSED from inside the container).
 *
 * - Push of files written through the contents API, checked byte for byte in the bucket; the
 *   local copies deleted, pulled back, checked again.
 * - An `obs` instance: JupyterLab's ContentsManager saves and opens a notebook that lands as an
 *   object under the OBS path; Sync OBS copies an object into ~/work, read back by a kernel.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import WebSocket from 'ws';
import { ContentsManager, ServerConnection, type Contents } from '@jupyterlab/services';
import type { NotebookInstance } from '../../server/src/api/types';
import { S3ObjectStore } from '../../server/src/storage/s3-object-store';
import { startGatewayProcess, waitForInstance, type GatewayProcess } from '../utils/gateway-process';
import { radosgwAvailable, startRadosGateway, type RadosGateway } from '../utils/radosgw';
import { keysUnder as keysUnderPrefix, startSync, syncFinished, type SyncJob as Job } from '../utils/sync-api';
import { docker, dockerDump, dockerGatewayEnv, dockerUsable, requireImages, runCode, sweep } from './docker-helpers';

const IMAGE = 'python3.11-cpu-debian12';
const PREFIX = `nbtest-h10-${process.pid}-`;
const BUCKET = 'nbtest-users';
const MiB = 1024 * 1024;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');


/**
 * The host side of Docker's default bridge (`docker0`), when it is an address of this machine:
 * private to the host, and routed to from every bridge network the driver creates.
 */
async function bridgeGateway(): Promise<string | null> {
  const info = await docker.getNetwork('bridge').inspect().catch(() => null) as { IPAM?: { Config?: Array<{ Gateway?: string }> } } | null;
  const ip = info?.IPAM?.Config?.find(c => c.Gateway && !c.Gateway.includes(':'))?.Gateway;
  if (!ip) return null;
  // os.networkInterfaces() omits docker0 while no container is on it (no carrier): bind instead.
  const local = await new Promise<boolean>(resolve => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(0, ip, () => s.close(() => resolve(true)));
  });
  return local ? ip : null;
}

const usable = (await dockerUsable()) && (await radosgwAvailable());
const hostIp = usable ? await bridgeGateway() : null;

describe.skipIf(!usable || !hostIp)('object storage from Docker instances (radosgw, STS keys)', () => {
  let rgw: RadosGateway;
  let gw: GatewayProcess;
  let admin: S3ObjectStore;
  let volumesDir: string;
  let token: string;

  const post = (path: string, json: unknown): Promise<Response> => gw.api(path, { method: 'POST', token, json });
  const contentsUrl = (id: string, rel: string): string => `/notebooks/${id}/api/contents/${rel.split('/').map(encodeURIComponent).join('/')}`;

  async function createRunning(name: string, storage: 'local' | 'obs'): Promise<string> {
    const res = await post('/api/v1/notebooks', { name, image: IMAGE, storage: { type: storage } });
    expect(res.status, await res.clone().text()).toBe(201);
    const inst = (await res.json()) as NotebookInstance;
    expect(inst.runtime).toBe('docker');
    await waitForInstance(gw, inst.id, 'RUNNING', 180_000);
    return inst.id;
  }

  const sync = async (id: string, body: unknown): Promise<Job> => syncFinished(gw, id, await startSync(gw, id, body, token), token, 120_000);
  const keysUnder = (prefix: string): Promise<string[]> => keysUnderPrefix(admin, BUCKET, prefix);

  beforeAll(async () => {
    await requireImages(IMAGE);
    rgw = await startRadosGateway({ alsoListenOn: hostIp! });
    const roleArn = await rgw.createRole('nbg-instance', rgw.admin);
    admin = new S3ObjectStore({ endpoint: rgw.endpoint, region: rgw.region, forcePathStyle: true, credentials: rgw.admin });
    volumesDir = await mkdtemp(join(tmpdir(), 'nbtest-h10-vol-'));
    gw = await startGatewayProcess({
      ...dockerGatewayEnv(volumesDir, PREFIX),
      NBG_OBJECT_STORE: 's3',
      NBG_S3_ENDPOINT: rgw.endpoint,
      NBG_S3_INSTANCE_ENDPOINT: rgw.extraEndpoint!,
      NBG_S3_FORCE_PATH_STYLE: 'true',
      NBG_S3_ACCESS_KEY_ID: rgw.admin.accessKeyId,
      NBG_S3_SECRET_ACCESS_KEY: rgw.admin.secretAccessKey,
      NBG_S3_STS_ROLE_ARN: roleArn,
      NBG_STORAGE_BUCKET: BUCKET
    });
    const created = await gw.api('/api/v1/users', { method: 'POST', token: gw.adminToken, json: { name: 'alice', password: 'alice-password-1', role: 'user' } });
    expect(created.status).toBe(201);
    const login = await gw.api('/api/v1/auth/login', { method: 'POST', json: { username: 'alice', password: 'alice-password-1' } });
    token = ((await login.json()) as { token: string }).token;
  }, 240_000);

  afterAll(async () => {
    await gw?.stop();
    await sweep(PREFIX, volumesDir);
    await admin?.dispose();
    await rgw?.dispose();
  });

  it('should tell the user their root and that instances get STS keys', async () => {
    const me = (await (await gw.api('/api/v1/storage', { token })).json()) as Record<string, unknown>;
    expect(me).toMatchObject({ store: 's3', bucket: BUCKET, prefix: 'users/alice/', instanceCredentials: 'sts' });
  });

  it('should push files from a container to the bucket byte for byte and pull them back', async () => {
    onTestFailed(async () => console.error(`${await dockerDump(PREFIX)}\n--- gateway ---\n${gw.output().slice(-3000)}\n${await rgw.logs()}`));
    const id = await createRunning('worker', 'local');
    // Small text, a binary, and one over 8 MiB that goes up in parts and comes down in ranges.
    const files = new Map<string, Buffer>([
      ['notes.txt', Buffer.from('radosgw from a container\n')],
      ['sub/blob.bin', randomBytes(300_000)],
      ['sub/deep/big.bin', randomBytes(9 * MiB + 17)]
    ]);
    for (const dir of ['data', 'data/sub', 'data/sub/deep']) {
      const res = await gw.api(contentsUrl(id, dir), { method: 'PUT', token, json: { type: 'directory' } });
      expect(res.status, await res.clone().text()).toBe(201);
    }
    for (const [rel, body] of files) {
      const res = await gw.api(contentsUrl(id, `data/${rel}`), { method: 'PUT', token, json: { type: 'file', format: 'base64', content: body.toString('base64') } });
      expect(res.status, await res.clone().text()).toBe(201);
    }

    const pushed = await sync(id, { kind: 'push', path: 'data', prefix: 'docker/data/' });
    expect(pushed, JSON.stringify(pushed)).toMatchObject({ state: 'succeeded', plan: { files: 3, transfers: 3 } });
    expect(await keysUnder('users/alice/docker/data/')).toEqual([...files.keys()].map(k => `users/alice/docker/data/${k}`).sort());
    for (const [rel, body] of files) {
      expect(sha(await buffer(await admin.get(BUCKET, `users/alice/docker/data/${rel}`))), rel).toBe(sha(body));
    }
    expect((await admin.head(BUCKET, 'users/alice/docker/data/sub/deep/big.bin')).etag).toMatch(/-2$/);

    for (const rel of ['sub/deep/big.bin', 'sub/blob.bin', 'notes.txt', 'sub/deep', 'sub']) {
      const res = await gw.api(contentsUrl(id, `data/${rel}`), { method: 'DELETE', token });
      expect(res.status, `${rel}: ${await res.clone().text()}`).toBe(204);
    }
    expect(((await (await gw.api(contentsUrl(id, 'data'), { token })).json()) as { content: unknown[] }).content).toEqual([]);

    const pulled = await sync(id, { kind: 'pull', prefix: 'docker/data/', path: 'data' });
    expect(pulled, JSON.stringify(pulled)).toMatchObject({ state: 'succeeded', plan: { files: 3, transfers: 3 } });
    for (const [rel, body] of files) {
      const res = await gw.api(`${contentsUrl(id, `data/${rel}`)}?type=file&format=base64&content=1`, { token });
      expect(res.status, rel).toBe(200);
      const got = Buffer.from(((await res.json()) as { content: string }).content, 'base64');
      expect(sha(got), rel).toBe(sha(body));
    }
    // Nothing left to do: every file matches its object's ETag.
    const again = await sync(id, { kind: 'push', path: 'data', prefix: 'docker/data/' });
    expect(again.plan).toMatchObject({ transfers: 0, unchanged: 3 });
  }, 300_000);

  it('should save and open a notebook of an obs instance as an object, and Sync OBS into ~/work', async () => {
    onTestFailed(async () => console.error(`${await dockerDump(PREFIX)}\n--- gateway ---\n${gw.output().slice(-3000)}\n${await rgw.logs()}`));
    const id = await createRunning('obsnb', 'obs');
    const base = `${gw.url}/notebooks/${id}/`;
    const settings = ServerConnection.makeSettings({
      baseUrl: base, wsUrl: base.replace(/^http/, 'ws'), token, appendToken: true,
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket
    });
    const contents = new ContentsManager({ serverSettings: settings });
    try {
      const created = await contents.newUntitled({ path: '', type: 'notebook' });
      const nb = (await contents.get(created.path)).content;
      nb.cells.push({ id: 'c1', cell_type: 'code', metadata: {}, execution_count: null, outputs: [], source: 'print(6 * 7)' });
      await contents.save(created.path, { type: 'notebook', format: 'json', content: nb });
      await contents.rename(created.path, 'analysis.ipynb');

      const obs = 'users/alice/notebooks/obsnb/';
      const stored = JSON.parse((await buffer(await admin.get(BUCKET, `${obs}analysis.ipynb`))).toString('utf8'));
      expect([stored.cells[0].source].flat().join('')).toBe('print(6 * 7)');
      await expect(admin.head(BUCKET, `${obs}${created.path}`)).rejects.toThrow();
      const reopened = await contents.get('analysis.ipynb');
      expect(reopened.content.cells[0].source).toBe('print(6 * 7)');
      expect(((await contents.get('')).content as Contents.IModel[]).map(m => m.name)).toContain('analysis.ipynb');

      const body = randomBytes(200_000);
      await admin.put(BUCKET, `${obs}inputs/train.bin`, body);
      const done = await sync(id, { kind: 'obs', sources: ['inputs/'] });
      expect(done, JSON.stringify(done)).toMatchObject({ state: 'succeeded', plan: { files: 1 } });
      const read = await runCode(gw.url, token, id, 'import hashlib, os\nprint(hashlib.sha256(open(os.path.expanduser("~/work/inputs/train.bin"), "rb").read()).hexdigest())');
      expect(read, read.error).toMatchObject({ ok: true, out: `${sha(body)}\n` });
    } finally {
      contents.dispose();
    }
  }, 300_000);
});
