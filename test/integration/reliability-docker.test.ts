/**
 * Faults on the Docker runtime (issue 11): the gateway SIGKILLed during an instance's creation
 * and during a save-as-image, the kernel gateway killed inside a container, `~/work` filling
 * up under a save, and the Docker daemon going away and coming back while containers change.
 * After each, every instance and image is in a true state and nothing is left half-made.
 *
 * #### Notes
 * The daemon outage is made at the gateway's Docker socket (a proxy this suite owns, cut and
 * restored) rather than by restarting the shared dockerd: the gateway sees what a dockerd
 * restart shows it (API refused, event stream cut, containers that died meanwhile), and no
 * other suite's containers are touched. Resources are `nbtest-rel-<pid>-…`, swept after.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NotebookInstance } from '../../server/src/api/types';
import { customRepository } from '../../server/src/images/save-image';
import { instanceOf, startGatewayProcess, waitFor, waitForInstance, type GatewayProcess } from '../utils/gateway-process';
import { docker, dockerDump, dockerGatewayEnv, dockerUsable, requireImages, runCode, sweep } from './docker-helpers';

const usable = await dockerUsable();
const IMAGE = 'python3.11-cpu-debian12';
const PREFIX = `nbtest-rel-${process.pid}-`;

async function killHard(gw: GatewayProcess): Promise<void> {
  if (gw.process.exitCode !== null || gw.process.signalCode !== null) return;
  const gone = new Promise(r => gw.process.once('exit', r));
  gw.process.kill('SIGKILL');
  await gone;
}

describe.skipIf(!usable)('reliability: faults on the Docker runtime', () => {
  let gw: GatewayProcess;
  let volumesDir: string;
  let dataDir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    await requireImages(IMAGE);
    volumesDir = await mkdtemp(join(tmpdir(), 'nbtest-rel-vol-'));
    env = { ...dockerGatewayEnv(volumesDir, PREFIX), NBG_POLL_INTERVAL_MS: '60000' };
    gw = await startGatewayProcess(env);
    dataDir = gw.dataDir;
  });

  afterAll(async () => {
    await gw?.stop({ keepData: true });
    // Save-as-image leftovers of this suite's user, if a test failed half-way.
    const me = await ownerRepo().catch(() => null);
    if (me) for (const img of await docker.listImages()) for (const t of img.RepoTags ?? []) if (t.startsWith(me)) await docker.getImage(t).remove({ force: true }).catch(() => undefined);
    // Check containers of a save carry the instance's labels but no name of ours.
    for (const c of await docker.listContainers({ all: true, filters: { label: [`nbgateway.managed-by=${PREFIX}`] } })) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
    await sweep(PREFIX, volumesDir);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  let ownerId: string | undefined;
  async function ownerRepo(name = ''): Promise<string> {
    ownerId ??= ((await (await gw.api('/api/v1/me', { token: gw.adminToken })).json()) as { id: string }).id;
    return customRepository(ownerId, name);
  }

  const get = (id: string): Promise<NotebookInstance> => instanceOf(gw, id);
  const until = (id: string, want: string, timeoutMs = 120_000): Promise<NotebookInstance> => waitForInstance(gw, id, want, timeoutMs, { errorIsFinal: false });
  const create = async (name: string, extra: Record<string, unknown> = {}): Promise<string> => {
    const res = await gw.api('/api/v1/notebooks', { method: 'POST', token: gw.adminToken, json: { name, image: IMAGE, ...extra } });
    expect(res.status, await res.clone().text()).toBe(201);
    return ((await res.json()) as { id: string }).id;
  };
  const restart = async (): Promise<void> => {
    gw = await startGatewayProcess(env, { dataDir });
  };
  const running = async (id: string): Promise<boolean> => (await docker.getContainer(`${PREFIX}${id}`).inspect().catch(() => null))?.State.Running ?? false;
  const dump = (): void => onTestFailed(async () => console.error(`${await dockerDump(PREFIX)}\n${gw.output().slice(-3_000)}`));

  it('should leave instances created around a SIGKILL RUNNING or ERROR, with no container running for an ERROR one', async () => {
    dump();
    const ids = await Promise.all(['dk1', 'dk2'].map(n => create(n)));
    // Kill once the first container exists: its start is under way and not yet recorded.
    await waitFor(async () => (await docker.listContainers({ all: true, filters: { name: [PREFIX] } })).length > 0, 'a container', 60_000, 50);
    await killHard(gw);
    await restart();
    for (const id of ids) {
      const s = await get(id);
      expect(['RUNNING', 'ERROR'], `${s.name} ${s.status}`).toContain(s.status);
      if (s.status === 'ERROR') expect(await running(id), `${s.name} is ERROR but its container runs`).toBe(false);
    }
    for (const id of ids) {
      if ((await get(id)).status === 'ERROR') expect((await gw.api(`/api/v1/notebooks/${id}/start`, { method: 'POST', token: gw.adminToken })).status).toBe(202);
    }
    for (const id of ids) await until(id, 'RUNNING');
    expect(await runCode(gw.url, gw.adminToken, ids[0]!, 'print(6*7)')).toMatchObject({ ok: true, out: '42\n' });
    for (const id of ids) await gw.api(`/api/v1/notebooks/${id}/stop`, { method: 'POST', token: gw.adminToken });
    for (const id of ids) await until(id, 'STOPPED');
  }, 300_000);

  describe('SIGKILL during a save as image', () => {
    let id: string;
    beforeAll(async () => {
      id = await create('saver');
      await until(id, 'RUNNING');
    }, 180_000);
    afterAll(async () => {
      await gw.api(`/api/v1/notebooks/${id}/stop`, { method: 'POST', token: gw.adminToken }).catch(() => undefined);
    });

    /**
     * What exists of images named `name`: tags in Docker, rows in the gateway's database (any
     * state: a CREATING row is a half-registered image) and check containers left behind.
     */
    async function leftovers(name: string): Promise<{ tags: string[]; rows: string[]; checks: number }> {
      const repo = await ownerRepo(name);
      const tags = (await docker.listImages()).flatMap(i => i.RepoTags ?? []).filter(t => t.startsWith(`${repo}:`));
      const db = new Database(join(dataDir, 'state.db'), { readonly: true, fileMustExist: true });
      try {
        const rows = db.prepare('SELECT tag, status FROM custom_images WHERE name = ?').all(name) as { tag: string; status: string }[];
        const checks = (await docker.listContainers({ all: true, filters: { label: ['nbgateway.purpose=image-check'] } })).filter(c => c.Image.startsWith(repo)).length;
        return { tags, rows: rows.map(r => `${r.tag} ${r.status}`), checks };
      } finally {
        db.close();
      }
    }

    for (const [step, killWhen] of [
      ['while the container is paused and committed', async () => (await get(id)).status === 'SNAPSHOTTING' || (await docker.getContainer(`${PREFIX}${id}`).inspect()).State.Paused],
      ['while the saved image is checked', async () => (await docker.listContainers({ all: true, filters: { label: ['nbgateway.purpose=image-check'] } })).some(c => c.Image.includes('/saving') || c.Image.includes(':saving-'))]
    ] as const) {
      it(`should register nothing and leave the instance RUNNING when killed ${step}`, async () => {
        dump();
        const name = step.includes('paused') ? 'killed-commit' : 'killed-check';
        const save = gw.api(`/api/v1/notebooks/${id}/images`, { method: 'POST', token: gw.adminToken, json: { name, tag: 'v1' } }).catch(() => null);
        await waitFor(killWhen, step, 120_000, 20);
        await killHard(gw);
        await save;
        await restart();
        const s = await get(id);
        expect(s.status).toBe('RUNNING');
        // dockerd may still be finishing a commit the dead gateway asked for: the gateway
        // removes what it leaves once it is done.
        const left = await waitFor(async () => {
          const l = await leftovers(name);
          return l.tags.length === 0 && l.checks === 0 ? l : undefined;
        }, 'the interrupted save to be cleaned up', 45_000, 500).catch(async () => leftovers(name));
        expect(left.rows, 'a half-registered image is in the database').toEqual([]);
        expect(left.tags, 'an image of the interrupted save is left in Docker').toEqual([]);
        expect(left.checks, 'a check container of the interrupted save is left').toBe(0);
        expect((await docker.getContainer(`${PREFIX}${id}`).inspect()).State.Paused).toBe(false);
        expect(await runCode(gw.url, gw.adminToken, id, 'print("still here")')).toMatchObject({ ok: true, out: 'still here\n' });
        // The same name can be saved now, and only once it is READY is it listed.
        const again = await gw.api(`/api/v1/notebooks/${id}/images`, { method: 'POST', token: gw.adminToken, json: { name, tag: 'v1' } });
        expect(again.status, await again.clone().text()).toBe(201);
        expect((await leftovers(name)).rows).toEqual(['v1 READY']);
        const img = (await again.json()) as { id: string };
        expect((await gw.api(`/api/v1/custom-images/${img.id}`, { method: 'DELETE', token: gw.adminToken })).status).toBe(204);
      }, 300_000);
    }
  });

  it('should report an instance whose kernel gateway was killed inside the container, and recover it on start', async () => {
    dump();
    const id = await create('agentkill');
    await until(id, 'RUNNING');
    const container = docker.getContainer(`${PREFIX}${id}`);
    // The agent runs under tini as the container's main process; SIGKILL it (its host pid).
    const top = (await container.top({ ps_args: '-eo pid,args' })) as { Titles: string[]; Processes: string[][] };
    const agent = top.Processes.find(p => p.some(c => c.includes('main.cjs')) && !p.some(c => c.includes('tini')));
    expect(agent, JSON.stringify(top.Processes)).toBeDefined();
    const killedAt = Date.now();
    process.kill(Number(agent![0]), 'SIGKILL');
    const failed = await until(id, 'ERROR', 30_000);
    expect(Date.now() - killedAt).toBeLessThan(15_000);
    expect(failed.statusReason).toMatch(/stopped unexpectedly/);
    expect((await gw.api(`/api/v1/notebooks/${id}/start`, { method: 'POST', token: gw.adminToken })).status).toBe(202);
    await until(id, 'RUNNING');
    expect(await runCode(gw.url, gw.adminToken, id, 'print(6*7)')).toMatchObject({ ok: true, out: '42\n' });
    await gw.api(`/api/v1/notebooks/${id}/stop`, { method: 'POST', token: gw.adminToken });
    await until(id, 'STOPPED');
  }, 300_000);

  it('should answer a save on a full ~/work with a clear error and keep the notebook on disk whole', async () => {
    dump();
    // 5 GB at the suite's 16 MiB per GB: an 80 MiB filesystem.
    const id = await create('diskfull', { storage: { type: 'local', sizeGB: 5 } });
    await until(id, 'RUNNING');
    const { ContentsManager, ServerConnection } = await import('@jupyterlab/services');
    const WebSocket = (await import('ws')).default;
    const base = `${gw.url}/notebooks/${id}/`;
    const contents = new ContentsManager({
      serverSettings: ServerConnection.makeSettings({ baseUrl: base, wsUrl: base.replace(/^http/, 'ws'), token: gw.adminToken, appendToken: true, WebSocket: WebSocket as unknown as typeof globalThis.WebSocket })
    });
    const notebook = (text: string): Record<string, unknown> => ({
      nbformat: 4, nbformat_minor: 5, metadata: {},
      cells: [{ cell_type: 'code', id: 'c1', metadata: {}, execution_count: null, outputs: [], source: text }]
    });
    const first = notebook('print("saved before the disk filled")');
    await contents.save('work.ipynb', { type: 'notebook', format: 'json', content: first });
    // Fill the filesystem from the kernel, as a runaway cell would.
    const fill = await runCode(gw.url, gw.adminToken, id, [
      'import os, errno',
      'n = 0',
      'try:',
      '    with open(os.path.expanduser("~/work/filler.bin"), "wb") as f:',
      '        while True:',
      '            f.write(b"\\0" * (1 << 20)); f.flush(); n += 1',
      'except OSError as e:',
      '    print("full", errno.errorcode[e.errno], n)'
    ].join('\n'));
    expect(fill.out).toMatch(/^full ENOSPC \d+/);
    // A bigger version of the notebook cannot be written: the lab shows the server's reason.
    const big = notebook(`print("${'x'.repeat(2 << 20)}")`);
    const refused = await contents.save('work.ipynb', { type: 'notebook', format: 'json', content: big }).then(() => null, (e: Error & { response?: Response }) => e);
    expect(refused, 'the save must fail').not.toBeNull();
    expect(refused!.response?.status).toBe(507);
    expect(refused!.message).toMatch(/No space left on the device/);
    // The file on disk is the last good version, whole, and no temporary file is left.
    const read = await contents.get('work.ipynb', { type: 'notebook', content: true });
    expect(read.content).toMatchObject({ cells: [{ source: 'print("saved before the disk filled")' }] });
    const listing = await docker.getContainer(`${PREFIX}${id}`).exec({ Cmd: ['sh', '-c', 'ls -a ~/work'], User: '1000', AttachStdout: true });
    const out = await new Promise<string>(resolve => {
      let s = '';
      void listing.start({ hijack: true, stdin: false }).then(stream => {
        stream.on('data', (c: Buffer) => (s += c.toString('latin1')));
        stream.on('end', () => resolve(s));
      });
    });
    expect(out).not.toMatch(/\.~work\.ipynb/);
    // Freeing space makes saves work again.
    expect((await runCode(gw.url, gw.adminToken, id, 'import os; os.remove(os.path.expanduser("~/work/filler.bin")); print("freed")')).out).toBe('freed\n');
    await contents.save('work.ipynb', { type: 'notebook', format: 'json', content: big });
    contents.dispose();
    await gw.api(`/api/v1/notebooks/${id}/stop`, { method: 'POST', token: gw.adminToken });
    await until(id, 'STOPPED');
  }, 300_000);

  it('should reconcile instances when the Docker API goes away and comes back with containers changed meanwhile', async () => {
    dump();
    const proxy = await dockerSocketProxy(join(dataDir, 'docker-proxy.sock'));
    try {
      // A gateway that reaches dockerd only through the proxy.
      await gw.stop({ keepData: true });
      env = { ...env, DOCKER_HOST: `unix://${proxy.path}` };
      await restart();
      const [a, b] = await Promise.all(['outage-a', 'outage-b'].map(n => create(n)));
      await until(a!, 'RUNNING');
      await until(b!, 'RUNNING');

      proxy.down();
      // While the API is away, one container dies (dockerd restarted without live-restore
      // kills them all; with it, some may still die meanwhile).
      await docker.getContainer(`${PREFIX}${b}`).kill();
      await new Promise(r => setTimeout(r, 4_000));
      // Nothing is declared lost because the runtime does not answer.
      expect((await get(a!)).status).toBe('RUNNING');
      expect(await runCode(gw.url, gw.adminToken, a!, 'print("during the outage")')).toMatchObject({ ok: true });

      await proxy.up();
      const lost = await until(b!, 'ERROR', 30_000);
      expect(lost.statusReason).toMatch(/killed|exit/);
      expect((await get(a!)).status).toBe('RUNNING');
      // The event stream is live again: a death now is seen within seconds, not at the 60 s poll.
      const t0 = Date.now();
      await docker.getContainer(`${PREFIX}${a}`).kill();
      await until(a!, 'ERROR', 15_000);
      expect(Date.now() - t0).toBeLessThan(10_000);
      for (const id of [a!, b!]) expect((await gw.api(`/api/v1/notebooks/${id}/start`, { method: 'POST', token: gw.adminToken })).status).toBe(202);
      for (const id of [a!, b!]) await until(id, 'RUNNING');
      expect(await runCode(gw.url, gw.adminToken, b!, 'print(6*7)')).toMatchObject({ ok: true, out: '42\n' });
    } finally {
      await proxy.up().catch(() => undefined);
      await gw.stop({ keepData: true });
      env = { ...env };
      delete env.DOCKER_HOST;
      await restart();
      await proxy.close();
    }
  }, 300_000);
});

/** A unix-socket proxy to /var/run/docker.sock that can be cut (all connections dropped) and restored. */
async function dockerSocketProxy(path: string): Promise<{ path: string; down(): void; up(): Promise<void>; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  const listen = async (): Promise<void> => {
    await rm(path, { force: true });
    server = createServer(client => {
      const upstream = connect('/var/run/docker.sock');
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('error', () => undefined);
        s.once('close', () => {
          sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>(resolve => server!.listen(path, resolve));
  };
  const down = (): void => {
    server?.close();
    server = null;
    for (const s of sockets) s.destroy();
  };
  await listen();
  return {
    path,
    down,
    async up() {
      if (!server) await listen();
    },
    async close() {
      down();
      await rm(path, { force: true });
    }
  };
}
