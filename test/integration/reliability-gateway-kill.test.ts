/**
 * The gateway killed with SIGKILL in the middle of things (issue 11), on the local-process
 * runtime: after a restart on the same data dir every instance and job is in a true state
 * (no ghost CREATING/STARTING, no orphan agent, no lost or doubled job run), and a notebook
 * that was open reconnects to its kernel by itself, with the kernel's state intact.
 */
import { execStdout } from '../utils/kernel-exec';
import { afterEach, describe, expect, it, onTestFailed } from 'vitest';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NotebookInstance } from '../../server/src/api/types';
import type { TrainingJobVersion } from '../../server/src/jobs/wire';
import { FsObjectStore } from '../../server/src/storage/fs-object-store';
import { startGatewayProcess, waitFor, type GatewayProcess } from '../utils/gateway-process';
import { processesMatching } from '../utils/processes';
import { runCode } from './docker-helpers';

const IMAGE = 'python3.11-cpu-debian12';

/** SIGKILL, as the OOM killer or a power cut would; resolves once the process is gone. */
async function killHard(gw: GatewayProcess): Promise<void> {
  if (gw.process.exitCode !== null || gw.process.signalCode !== null) return;
  const gone = new Promise(r => gw.process.once('exit', r));
  gw.process.kill('SIGKILL');
  await gone;
}

/** What the local scheduler's directory says of each submission (for failed tests). */
async function schedulerState(dir: string): Promise<string> {
  const out: string[] = [];
  for (const id of await readdir(dir).catch(() => [] as string[])) {
    const files = await readdir(join(dir, id)).catch(() => null);
    if (!files) continue;
    const task = join(dir, id, 'task-0');
    const pid = await readFile(join(task, 'pid.json'), 'utf8').catch(() => '-');
    const exit = await readFile(join(task, 'exit.json'), 'utf8').catch(() => '-');
    out.push(`${id}: ${files.join(',')} pid=${pid} exit=${exit}`);
  }
  return out.join('\n');
}

/** Live agent processes of an instance (their command line names its work dir). */
const agentsOf = async (dataDir: string, id: string): Promise<number[]> => (await processesMatching(`${join(dataDir, 'instances', id, 'work')}`)).filter(p => p.cmdline.includes('main.cjs')).map(p => p.pid);

describe('reliability: the gateway killed with SIGKILL', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
  });

  /** A gateway whose instances (agents) are stopped and whose data dir is removed at the end. */
  async function gateway(env: Record<string, string> = {}, dataDir?: string): Promise<GatewayProcess> {
    const gw = await startGatewayProcess({ NBG_POLL_INTERVAL_MS: '1000', NBG_STOP_TIMEOUT_MS: '3000', ...env }, dataDir ? { dataDir } : {});
    return gw;
  }

  function finallyStop(dataDir: string, current: () => GatewayProcess | undefined): void {
    cleanup.push(async () => {
      const gw = current();
      if (gw) await gw.stop({ keepData: true });
      // Agents outlive the gateway by design: stop the ones this test made.
      for (const p of await processesMatching(join(dataDir, 'instances'))) {
        try {
          process.kill(-p.pid, 'SIGKILL');
        } catch {
          try {
            process.kill(p.pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      }
      await rm(dataDir, { recursive: true, force: true });
    });
  }

  const instance = async (gw: GatewayProcess, id: string): Promise<NotebookInstance> =>
    (await (await gw.api(`/api/v1/notebooks/${id}`, { token: gw.adminToken })).json()) as NotebookInstance;

  it('should leave every instance created around the kill RUNNING or ERROR, with exactly one agent each or none', async () => {
    let gw: GatewayProcess | undefined = await gateway();
    const dataDir = gw.dataDir;
    finallyStop(dataDir, () => gw);
    onTestFailed(() => console.error(gw?.output().slice(-3_000)));
    // Creates in flight, then the kill at a moment when some agents are spawned and not yet
    // recorded, some not spawned at all, some maybe RUNNING.
    const ids: string[] = [];
    const creates = Array.from({ length: 6 }, (_, i) =>
      gw!.api('/api/v1/notebooks', { method: 'POST', token: gw!.adminToken, json: { name: `k${i}`, image: IMAGE } })
        .then(async r => {
          if (r.status === 201) ids.push(((await r.json()) as { id: string }).id);
        })
        .catch(() => undefined)
    );
    // Kill as soon as the first agent process exists.
    await waitFor(async () => (await processesMatching(join(dataDir, 'instances'))).some(p => p.cmdline.includes('main.cjs')), 'a first agent', 30_000, 10);
    await killHard(gw);
    await Promise.allSettled(creates);
    expect(ids.length).toBeGreaterThan(0);

    gw = await gateway({}, dataDir);
    const all = ((await (await gw.api('/api/v1/notebooks?limit=50', { token: gw.adminToken })).json()) as { items: NotebookInstance[] }).items;
    // Every create that answered 201 is there; none is left in a transitional state.
    for (const id of ids) expect(all.map(i => i.id)).toContain(id);
    for (const inst of all) {
      expect(['RUNNING', 'ERROR'], `${inst.name}: ${inst.status}`).toContain(inst.status);
      const agents = await agentsOf(dataDir, inst.id);
      if (inst.status === 'RUNNING') expect(agents, `${inst.name} RUNNING`).toHaveLength(1);
      else {
        expect(inst.statusReason).toMatch(/restarted while the instance was starting/);
        expect(agents, `${inst.name} ERROR must leave no orphan agent`).toEqual([]);
      }
    }
    // The interrupted ones start again, each with one agent, and run code.
    for (const inst of all.filter(i => i.status === 'ERROR')) {
      expect((await gw.api(`/api/v1/notebooks/${inst.id}/start`, { method: 'POST', token: gw.adminToken })).status).toBe(202);
    }
    for (const inst of all) {
      await waitFor(async () => (await instance(gw!, inst.id)).status === 'RUNNING', `${inst.name} RUNNING`, 60_000);
      expect(await agentsOf(dataDir, inst.id)).toHaveLength(1);
    }
    expect(await runCode(gw.url, gw.adminToken, all[0]!.id, 'print(6*7)')).toMatchObject({ ok: true, out: '42\n' });
  }, 240_000);

  it('should let an open notebook reconnect to its kernel by itself after a kill and restart, state intact', async () => {
    let gw: GatewayProcess | undefined = await gateway();
    const dataDir = gw.dataDir;
    finallyStop(dataDir, () => gw);
    onTestFailed(() => console.error(gw?.output().slice(-3_000)));
    const created = await gw.api('/api/v1/notebooks', { method: 'POST', token: gw.adminToken, json: { name: 'open', image: IMAGE } });
    const id = ((await created.json()) as { id: string }).id;
    await waitFor(async () => (await instance(gw!, id)).status === 'RUNNING', 'RUNNING', 60_000);

    const { KernelManager, ServerConnection } = await import('@jupyterlab/services');
    const WebSocket = (await import('ws')).default;
    const port = new URL(gw.url).port;
    const base = `${gw.url}/notebooks/${id}/`;
    const serverSettings = ServerConnection.makeSettings({
      baseUrl: base, wsUrl: base.replace(/^http/, 'ws'), token: gw.adminToken, appendToken: true, WebSocket: WebSocket as unknown as typeof globalThis.WebSocket
    });
    const { log, debug, warn, error } = console;
    console.log = console.debug = console.warn = () => undefined;
    const kernels = new KernelManager({ serverSettings });
    try {
      await kernels.ready;
      const kernel = await kernels.startNew({ name: 'python3' });
      const exec = (code: string): Promise<string> => execStdout(kernel, code);
      expect(await exec('state = 41')).toBe('');
      const statuses: string[] = [];
      kernel.connectionStatusChanged.connect((_k, s) => void statuses.push(s));

      await killHard(gw);
      await waitFor(async () => statuses.includes('connecting'), 'the client to notice', 20_000);
      // Same address: the browser's page keeps its URL.
      gw = await gateway({ NBG_PORT: port }, dataDir);
      await waitFor(async () => kernel.connectionStatus === 'connected', 'the client to reconnect by itself', 120_000, 200);
      expect(await exec('print(state + 1)')).toBe('42\n');
      expect(statuses).toContain('connected');
      await kernel.shutdown();
    } finally {
      kernels.dispose();
      Object.assign(console, { log, debug, warn, error });
    }
  }, 240_000);

  it('should lose no job and run none twice when killed while jobs are being submitted', async () => {
    const runs = await mkdtemp(join(tmpdir(), 'nbtest-rel-runs-'));
    cleanup.push(() => rm(runs, { recursive: true, force: true }));
    const env = { NBG_JOB_SCHEDULER: 'local', NBG_JOB_RUNTIME: 'process', NBG_JOB_POLL_INTERVAL_MS: '250', NBG_JOB_CONCURRENCY: '4' };
    let gw: GatewayProcess | undefined = await gateway(env);
    const dataDir = gw.dataDir;
    finallyStop(dataDir, () => gw);
    onTestFailed(() => console.error(gw?.output().slice(-3_000)));
    const objects = new FsObjectStore({ root: join(dataDir, 'objects') });
    for (const b of ['code', 'out']) await objects.ensureBucket(b);
    // Each run appends its tag to a file on the host: a job run twice shows up twice.
    await objects.put('code', 'once/train.py', Buffer.from([
      'import argparse, os, time',
      'p = argparse.ArgumentParser(); p.add_argument("--tag"); a = p.parse_args()',
      `open(${JSON.stringify(join(runs, 'runs.log'))}, "a").write(a.tag + "\\n")`,
      'time.sleep(1)',
      ''
    ].join('\n')));

    const accepted: string[] = [];
    const submit = (i: number): Promise<void> =>
      gw!.api('/api/v1/jobs', {
        method: 'POST', token: gw!.adminToken,
        json: { name: `once${i}`, image: 'sklearn1.2-xgboost1.7-cpu-debian12', codeUrl: 's3://code/once/', bootFile: 'train.py', outputUrl: `s3://out/once${i}/`, parameters: { tag: `t${i}` } }
      })
        .then(async r => {
          if (r.status === 201) accepted.push(((await r.json()) as { id: string }).id);
        })
        .catch(() => undefined);
    const inflight: Promise<void>[] = [];
    for (let i = 0; i < 3; i++) inflight.push(submit(i));
    // Kill with submissions answered (and being handed to the scheduler) and more in flight.
    await waitFor(async () => accepted.length >= 1, 'a first job accepted', 30_000, 5);
    for (let i = 3; i < 8; i++) inflight.push(submit(i));
    await new Promise(r => setTimeout(r, 5));
    await killHard(gw);
    await Promise.allSettled(inflight);
    expect(accepted.length).toBeGreaterThan(0);

    gw = await gateway(env, dataDir);
    const jobs = ((await (await gw.api('/api/v1/jobs?limit=50', { token: gw.adminToken })).json()) as { items: { id: string; name: string }[] }).items;
    for (const id of accepted) expect(jobs.map(j => j.id), 'a job answered 201 is lost').toContain(id);
    const versions: TrainingJobVersion[] = [];
    for (const job of jobs) {
      let last: TrainingJobVersion | undefined;
      versions.push(await waitFor(async () => {
        last = (await (await gw!.api(`/api/v1/jobs/${job.id}/versions/V0001`, { token: gw!.adminToken })).json()) as TrainingJobVersion;
        return ['SUCCEEDED', 'FAILED', 'CANCELED'].includes(last.status) ? last : undefined;
      }, `${job.name} to end`, 90_000, 250).catch(async err => {
        throw new Error(`${(err as Error).message}; last seen ${JSON.stringify(last)}\nlocal scheduler:\n${await schedulerState(join(dataDir, 'jobs', 'local'))}`);
      }));
    }
    for (const v of versions) expect(v.status, v.statusReason ?? '').toBe('SUCCEEDED');
    const lines = (await readFile(join(runs, 'runs.log'), 'utf8')).trim().split('\n').sort();
    if (lines.length !== jobs.length) console.error(`local scheduler:\n${await schedulerState(join(dataDir, 'jobs', 'local'))}\njobs: ${JSON.stringify(jobs)}`);
    expect(lines).toEqual(jobs.map(j => `t${j.name.slice(4)}`).sort());
  }, 240_000);
});
