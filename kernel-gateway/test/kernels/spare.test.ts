/**
 * Spare kernels (`kernelPrespawn`): started ahead of time, invisible until handed out, and
 * once handed out indistinguishable from a kernel started for the request.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config';
import { startOnlyVariable } from '../../src/services/kernels/spare-handout';
import { startGateway, type TestGateway } from '../utils/gateway';
import { legacyMessage, parseLegacy, RawChannel, writeKernelSpec } from '../utils/kernel';

/** Live processes whose command line names a file under `dir` (kernels name their connection file). */
function processesUnder(dir: string): number[] {
  return readdirSync('/proc').filter(p => /^\d+$/.test(p)).flatMap(p => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return [];
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir) ? [Number(p)] : [];
    } catch {
      return [];
    }
  });
}

async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 50));
  }
}

const api = (gw: TestGateway, method: string, path: string, body?: unknown) =>
  fetch(`${gw.url}${path}`, { method, headers: { Authorization: `token ${gw.token}` }, body: body === undefined ? undefined : JSON.stringify(body) });

async function startKernel(gw: TestGateway, body: Record<string, unknown>): Promise<string> {
  const res = await api(gw, 'POST', 'api/kernels', body);
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

const PROBE = [
  'import json, os, sys',
  'import helper_mod',
  'print(json.dumps({"cwd": os.getcwd(), "sys_path": sys.path, "var": os.environ.get("NBG_SPARE_TEST"),',
  '  "session": os.environ.get("JPY_SESSION_NAME"), "has_session": "__session__" in globals(),',
  '  "In": len(In), "Out": len(Out), "dh": [str(d) for d in _dh], "helper": helper_mod.VALUE,',
  '  "names": sorted(k for k in globals() if not k.startswith("_"))}))'
].join('\n');

interface Probe {
  /** Messages the client saw before it sent anything. */
  before: string[];
  /** iopub message types in answer to the probe. */
  iopub: string[];
  executionCount: number;
  state: Record<string, unknown>;
}

/** Connects a new client, waits to see whether anything arrives unasked, then runs the probe. */
async function probe(gw: TestGateway, kernelId: string): Promise<Probe> {
  const session = `probe-${Math.random().toString(36).slice(2)}`;
  const ch = await RawChannel.open(`${gw.url.replace(/^http/, 'ws')}api/kernels/${kernelId}/channels?session_id=${session}&token=${gw.token}`);
  try {
    await new Promise(r => setTimeout(r, 300));
    const before = ch.received.map(parseLegacy).map(p => `${p.msg.channel}:${p.msg.msg_type}`);
    const exec = legacyMessage('shell', 'execute_request', { code: PROBE, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true }, session);
    ch.ws.send(exec.text);
    const mine = () => ch.received.map(parseLegacy).map(p => p.msg).filter(m => m.parent_header?.msg_id === exec.id);
    await ch.until(() => mine().some(m => m.msg_type === 'status' && m.content.execution_state === 'idle') && mine().some(m => m.msg_type === 'execute_reply'));
    const reply = mine().find(m => m.msg_type === 'execute_reply')!;
    if (reply.content.status !== 'ok') throw new Error(`probe failed: ${reply.content.ename}: ${reply.content.evalue}`);
    const stdout = mine().filter(m => m.msg_type === 'stream').map(m => m.content.text as string).join('');
    return {
      before,
      iopub: mine().filter(m => m.channel === 'iopub').map(m => m.msg_type),
      executionCount: reply.content.execution_count,
      state: JSON.parse(stdout)
    };
  } finally {
    await ch.close();
  }
}

describe('spare kernels', () => {
  describe('startOnlyVariable()', () => {
    const launched = { PATH: '/usr/bin:/bin', HOME: '/home/u' };

    it('should let variables a running kernel can take on through', () => {
      expect(startOnlyVariable({ JPY_SESSION_NAME: 'a.ipynb', KERNEL_USERNAME: 'u', OMP_NUM_THREADS: '2', MPLBACKEND: 'agg' }, launched)).toBeUndefined();
    });

    it('should name a variable only a new process takes on', () => {
      expect(startOnlyVariable({ A: '1', PYTHONPATH: '/x' }, launched)).toBe('PYTHONPATH');
      expect(startOnlyVariable({ LD_PRELOAD: '/x.so' }, launched)).toBe('LD_PRELOAD');
      expect(startOnlyVariable({ PATH: '/opt/bin' }, launched)).toBe('PATH');
      expect(startOnlyVariable({ JPY_PARENT_PID: '1' }, launched)).toBe('JPY_PARENT_PID');
    });

    it('should not count a start-only variable that keeps the value the spare started with', () => {
      expect(startOnlyVariable({ PATH: '/usr/bin:/bin', HOME: '/home/u' }, launched)).toBeUndefined();
    });
  });

  describe('kernelPrespawn setting', () => {
    it('should default to one spare, take 0 to disable, and refuse what is out of range', () => {
      expect(loadConfig([], {}).kernelPrespawn).toBe(1);
      expect(loadConfig([], { NBG_KG_KERNEL_PRESPAWN: '0' }).kernelPrespawn).toBe(0);
      expect(loadConfig(['--kernel-prespawn', '2'], {}).kernelPrespawn).toBe(2);
      expect(() => loadConfig(['--kernel-prespawn', '9'], {})).toThrow(/kernelPrespawn must be an integer from 0 to 4, got "9"/);
      expect(() => loadConfig(['--kernel-prespawn', '-1'], {})).toThrow(/kernelPrespawn/);
    });
  });

  describe('a gateway keeping one spare', () => {
    let gw: TestGateway;
    const started: string[] = [];

    beforeAll(async () => {
      gw = await startGateway({ kernelPrespawn: 1 });
      await mkdir(join(gw.rootDir, 'sub'));
      await writeFile(join(gw.rootDir, 'sub', 'helper_mod.py'), 'VALUE = 42\n');
      await writeFile(join(gw.rootDir, 'sub', 'nb.ipynb'), JSON.stringify({ cells: [], metadata: {}, nbformat: 4, nbformat_minor: 5 }));
    });

    afterEach(async () => {
      for (const id of started.splice(0)) await api(gw, 'DELETE', `api/kernels/${id}`);
    });

    afterAll(async () => {
      await gw?.dispose();
    });

    const spareTaken = () => gw.logs.filter(l => l.includes('kernel started from a spare')).length;

    it('should keep the spare out of the kernel list, status, activity and idle culling', async () => {
      await until('a ready spare', () => gw.app.kernels.readySpares === 1);
      expect(await (await api(gw, 'GET', 'api/kernels')).json()).toEqual([]);
      const status = (await (await api(gw, 'GET', 'api/status')).json()) as Record<string, unknown>;
      expect(status).toMatchObject({ kernels: 0, connections: 0 });
      // Its start produced iopub traffic; none of it is the user's activity.
      expect(status.last_activity).toBe(status.started);
      const feed = (await (await api(gw, 'GET', 'api/nbg/activity')).json()) as Record<string, unknown>;
      expect(feed).toMatchObject({ kernels: [], busy: false, connections: 0, last_activity: status.started });
      expect(gw.app.activity.busy()).toBe(false);
    });

    it('should hand out a spare that a client cannot tell from a fresh kernel', async () => {
      await until('a ready spare', () => gw.app.kernels.readySpares === 1);
      const body = { name: 'python3', path: 'sub/nb.ipynb', env: { NBG_SPARE_TEST: 'from-the-request', JPY_SESSION_NAME: 'sub/nb.ipynb' } };
      const fromSpare = await startKernel(gw, body);
      started.push(fromSpare);
      expect(spareTaken()).toBe(1);
      // The refill waits a few seconds: this one starts fresh.
      expect(gw.app.kernels.readySpares).toBe(0);
      const fresh = await startKernel(gw, body);
      started.push(fresh);
      expect(spareTaken()).toBe(1);

      const a = await probe(gw, fromSpare);
      const b = await probe(gw, fresh);
      const sub = await realpath(join(gw.rootDir, 'sub'));
      // A fresh kernel's client may see its "starting" status; a spare has long started.
      expect(a.before).toEqual([]);
      expect(b.before.filter(t => t !== 'iopub:status')).toEqual([]);
      expect(a.executionCount).toBe(1);
      expect(a.iopub).toEqual(['status', 'execute_input', 'stream', 'status']);
      expect(a.state).toMatchObject({ cwd: sub, var: 'from-the-request', session: 'sub/nb.ipynb', In: 2, Out: 0, dh: [sub], helper: 42 });
      expect((a.state.sys_path as string[])[0]).toBe(sub);
      expect({ ...a, before: [] }).toEqual({ ...b, before: [] });
      // Listed like any other kernel once handed out.
      const listed = ((await (await api(gw, 'GET', 'api/kernels')).json()) as Array<{ id: string }>).map(k => k.id);
      expect(listed.sort()).toEqual([fromSpare, fresh].sort());
    });

    it('should give a new session a spare, restarted in the directory and environment it was started for', async () => {
      await until('a refilled spare', () => gw.app.kernels.readySpares === 1);
      const res = await api(gw, 'POST', 'api/sessions', { path: 'sub/nb.ipynb', name: 'nb.ipynb', type: 'notebook', kernel: { name: 'python3' } });
      expect(res.status).toBe(201);
      const id = ((await res.json()) as { kernel: { id: string } }).kernel.id;
      started.push(id);
      expect(spareTaken()).toBe(2);
      const expected = { cwd: await realpath(join(gw.rootDir, 'sub')), session: 'sub/nb.ipynb', helper: 42 };
      expect((await probe(gw, id)).state).toMatchObject(expected);
      expect((await api(gw, 'POST', `api/kernels/${id}/restart`)).status).toBe(200);
      const after = await probe(gw, id);
      expect(after.executionCount).toBe(1);
      expect(after.state).toMatchObject({ ...expected, In: 2 });
    });

    it('should start a fresh kernel when the request sets a variable only a new process takes on', async () => {
      await until('a refilled spare', () => gw.app.kernels.readySpares === 1);
      const id = await startKernel(gw, { name: 'python3', env: { PYTHONPATH: join(gw.rootDir, 'sub') } });
      started.push(id);
      expect(gw.app.kernels.readySpares).toBe(1);
      expect(gw.logs.some(l => l.includes('a variable only a new process takes on') && l.includes('PYTHONPATH'))).toBe(true);
      const state = (await probe(gw, id)).state;
      expect(state.helper).toBe(42);
    });

    it('should not start the replacement while the user\'s code runs', async () => {
      await until('a ready spare', () => gw.app.kernels.readySpares === 1);
      const id = await startKernel(gw, { name: 'python3' });
      started.push(id);
      const session = 'busy-client';
      const ch = await RawChannel.open(`${gw.url.replace(/^http/, 'ws')}api/kernels/${id}/channels?session_id=${session}&token=${gw.token}`);
      try {
        const exec = legacyMessage('shell', 'execute_request', { code: 'import time; time.sleep(5)', silent: false }, session);
        ch.ws.send(exec.text);
        await until('the cell running', () => gw.app.kernels.busy());
        // Past the refill delay, the kernel is still busy: only the user's kernel runs.
        await new Promise(r => setTimeout(r, 4_000));
        expect(gw.app.kernels.busy()).toBe(true);
        expect(processesUnder(gw.config.runtimeDir)).toHaveLength(1);
        await until('the cell done', () => !gw.app.kernels.busy(), 10_000);
        await until('the replacement', () => gw.app.kernels.readySpares === 1);
      } finally {
        await ch.close();
      }
    });

    it('should replace a spare that dies without it ever showing', async () => {
      await until('a ready spare', () => gw.app.kernels.readySpares === 1);
      const [pid] = processesUnder(gw.config.runtimeDir);
      expect(pid).toBeDefined();
      process.kill(pid!, 'SIGKILL');
      await until('the death noticed', () => gw.logs.some(l => l.includes('spare kernel failed; starting another') && l.includes('it died')));
      expect(await (await api(gw, 'GET', 'api/kernels')).json()).toEqual([]);
      await until('a new spare', () => gw.app.kernels.readySpares === 1 && processesUnder(gw.config.runtimeDir).length === 1);
      expect(processesUnder(gw.config.runtimeDir)).not.toContain(pid);
      expect(await (await api(gw, 'GET', 'api/kernels')).json()).toEqual([]);
    });
  });

  describe('a spare that a fresh start would not match', () => {
    let gw: TestGateway;
    let specDir: string;
    let userBase: string;

    beforeAll(async () => {
      specDir = await mkdtemp(join(tmpdir(), 'nbkg-spare-specs-'));
      userBase = await mkdtemp(join(tmpdir(), 'nbkg-userbase-'));
      // The default spec, with a user site of our own so the test can install into it.
      await writeKernelSpec(specDir, 'python3', { env: { PYTHONUSERBASE: userBase } });
      gw = await startGateway({ kernelPrespawn: 1, jupyterPath: [specDir] });
    });

    afterAll(async () => {
      await gw?.dispose();
      await rm(specDir, { recursive: true, force: true });
      await rm(userBase, { recursive: true, force: true });
    });

    it('should start fresh when the user site-packages appeared after the spare started', async () => {
      await until('a ready spare', () => gw.app.kernels.readySpares === 1);
      const site = join(userBase, 'lib', `python3.${await pythonMinor()}`, 'site-packages');
      await mkdir(site, { recursive: true });
      await writeFile(join(site, 'helper_mod.py'), 'VALUE = 7\n');
      const id = await startKernel(gw, { name: 'python3' });
      expect(gw.logs.some(l => l.includes('spare kernel not usable') && l.includes('user site-packages directory appeared'))).toBe(true);
      expect((await probe(gw, id)).state.helper).toBe(7);
      await api(gw, 'DELETE', `api/kernels/${id}`);
    });

    it('should start fresh when a .pth file changed after the spare started', async () => {
      await until('a refilled spare', () => gw.app.kernels.readySpares === 1);
      const extra = join(userBase, 'extra');
      await mkdir(extra);
      await writeFile(join(extra, 'helper_mod.py'), 'VALUE = 8\n');
      const site = join(userBase, 'lib', `python3.${await pythonMinor()}`, 'site-packages');
      await rm(join(site, 'helper_mod.py'));
      await writeFile(join(site, 'extra.pth'), `${extra}\n`);
      const id = await startKernel(gw, { name: 'python3' });
      expect(gw.logs.some(l => l.includes('spare kernel not usable') && l.includes('extra.pth'))).toBe(true);
      expect((await probe(gw, id)).state.helper).toBe(8);
      await api(gw, 'DELETE', `api/kernels/${id}`);
    });

    it('should drop a spare whose kernelspec was edited since it started', async () => {
      await until('a refilled spare', () => gw.app.kernels.readySpares === 1);
      await writeKernelSpec(specDir, 'python3', { env: { PYTHONUSERBASE: userBase, NBG_SPARE_TEST: 'edited' } });
      // The kernelspec scan is cached for 2 s.
      await new Promise(r => setTimeout(r, 2_100));
      const id = await startKernel(gw, { name: 'python3', path: '' });
      expect(gw.logs.some(l => l.includes('spare kernel discarded') && l.includes('its kernelspec changed'))).toBe(true);
      const state = (await probe(gw, id)).state;
      expect(state.var).toBe('edited');
      await api(gw, 'DELETE', `api/kernels/${id}`);
    });
  });

  describe('lifetime', () => {
    it('should wait for a spare still starting rather than start a second kernel', async () => {
      const gw = await startGateway({ kernelPrespawn: 1 });
      try {
        const t0 = Date.now();
        const id = await startKernel(gw, { name: 'python3' });
        expect(gw.logs.some(l => l.includes('kernel started from a spare'))).toBe(true);
        expect(processesUnder(gw.config.runtimeDir)).toHaveLength(1);
        expect((await api(gw, 'GET', `api/kernels/${id}`)).status).toBe(200);
        expect(Date.now() - t0).toBeLessThan(15_000);
      } finally {
        await gw.dispose();
      }
    });

    it('should leave no kernel process behind when disposed with a spare ready or still starting', async () => {
      const ready = await startGateway({ kernelPrespawn: 2 });
      await until('two ready spares', () => ready.app.kernels.readySpares === 2, 30_000);
      expect(processesUnder(ready.config.runtimeDir)).toHaveLength(2);
      await ready.dispose();
      expect(processesUnder(ready.config.runtimeDir)).toEqual([]);

      const starting = await startGateway({ kernelPrespawn: 1 });
      await until('the spare launched', () => processesUnder(starting.config.runtimeDir).length === 1);
      expect(starting.app.kernels.readySpares).toBe(0);
      await starting.dispose();
      expect(processesUnder(starting.config.runtimeDir)).toEqual([]);
    });

    it('should not start spares when kernelPrespawn is 0', async () => {
      const gw = await startGateway({ kernelPrespawn: 0 });
      try {
        await new Promise(r => setTimeout(r, 500));
        expect(processesUnder(gw.config.runtimeDir)).toEqual([]);
      } finally {
        await gw.dispose();
      }
    });
  });
});

let minor: string | undefined;
/** The minor version of Debian's python3, for the user site-packages path. */
async function pythonMinor(): Promise<string> {
  if (!minor) {
    const { execFileSync } = await import('node:child_process');
    minor = execFileSync('/usr/bin/python3', ['-c', 'import sys; print(sys.version_info[1])'], { encoding: 'utf8' }).trim();
  }
  return minor;
}
