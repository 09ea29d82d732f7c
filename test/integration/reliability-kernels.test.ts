/**
 * Faults inside a running instance (issue 11), on the local-process runtime, seen through the
 * gateway with JupyterLab's own client: a kernel killed from outside restarts by itself and
 * the client sees `restarting` (then `dead` once it dies too often); the instance's kernel
 * gateway killed turns the instance ERROR with the reason, and a start brings it back.
 */
import { execStdout } from '../utils/kernel-exec';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { Kernel, KernelManager } from '@jupyterlab/services';
import type { NotebookInstance } from '../../server/src/api/types';
import { startGatewayProcess, waitFor, type GatewayProcess } from '../utils/gateway-process';
import { isAlive, processesMatching } from '../utils/processes';

const IMAGE = 'python3.11-cpu-debian12';

describe('reliability: faults inside an instance', () => {
  let gw: GatewayProcess;
  let id: string;
  let kernels: KernelManager;
  const quiet = { ...console };

  const instance = async (): Promise<NotebookInstance> => (await (await gw.api(`/api/v1/notebooks/${id}`, { token: gw.adminToken })).json()) as NotebookInstance;

  beforeAll(async () => {
    // Liveness is polled rarely: what turns ERROR sooner was noticed through the process exit.
    gw = await startGatewayProcess({ NBG_POLL_INTERVAL_MS: '60000' });
    const res = await gw.api('/api/v1/notebooks', { method: 'POST', token: gw.adminToken, json: { name: 'faults', image: IMAGE } });
    id = ((await res.json()) as { id: string }).id;
    await waitFor(async () => (await instance()).status === 'RUNNING', 'RUNNING', 60_000);
    const { KernelManager, ServerConnection } = await import('@jupyterlab/services');
    const WebSocket = (await import('ws')).default;
    const base = `${gw.url}/notebooks/${id}/`;
    console.log = console.debug = console.warn = () => undefined;
    kernels = new KernelManager({
      serverSettings: ServerConnection.makeSettings({ baseUrl: base, wsUrl: base.replace(/^http/, 'ws'), token: gw.adminToken, appendToken: true, WebSocket: WebSocket as unknown as typeof globalThis.WebSocket })
    });
    await kernels.ready;
  });

  afterAll(async () => {
    kernels?.dispose();
    Object.assign(console, quiet);
    await gw?.api(`/api/v1/notebooks/${id}/stop`, { method: 'POST', token: gw.adminToken }).catch(() => undefined);
    await waitFor(async () => ['STOPPED', 'ERROR'].includes((await instance()).status), 'stopped', 30_000).catch(() => undefined);
    await gw?.stop();
  });


  const kernelPid = async (kernel: Kernel.IKernelConnection): Promise<number> => Number(await execStdout(kernel, 'import os; print(os.getpid())'));

  it('should restart a kernel killed from outside, with the client seeing it restart, then dead after too many deaths', async () => {
    onTestFailed(() => quiet.error(gw.output().slice(-3_000)));
    const kernel = await kernels.startNew({ name: 'python3' });
    const states: string[] = [];
    kernel.statusChanged.connect((_k, s) => void states.push(s));
    await execStdout(kernel, 'x = 1');

    const first = await kernelPid(kernel);
    process.kill(first, 'SIGKILL');
    await waitFor(async () => states.some(s => s === 'autorestarting' || s === 'restarting'), 'the client to see the restart', 30_000);
    await waitFor(async () => kernel.status === 'idle' && kernel.connectionStatus === 'connected', 'the kernel back', 60_000, 100);
    // A new process: the old state is gone, the connection is the same one.
    const second = await kernelPid(kernel);
    expect(second).not.toBe(first);
    expect(await isAlive(first)).toBe(false);
    expect(await execStdout(kernel, 'print("x" in dir())')).toBe('False\n');

    // The agent allows 5 automatic restarts a minute; the next death is final.
    let pid = second;
    for (let i = 0; i < 5 && !states.includes('dead'); i++) {
      const seen = states.length;
      process.kill(pid, 'SIGKILL');
      await waitFor(async () => states.slice(seen).some(s => s === 'dead') || (kernel.status === 'idle' && states.slice(seen).some(s => s === 'autorestarting' || s === 'restarting')), 'a restart or dead', 60_000, 100);
      if (states.includes('dead')) break;
      pid = await kernelPid(kernel);
    }
    await waitFor(async () => states.includes('dead'), 'the client to see dead', 30_000);
    const model = (await (await gw.api(`/notebooks/${id}/api/kernels/${kernel.id}`, { token: gw.adminToken })).json()) as { execution_state: string };
    expect(model.execution_state).toBe('dead');
    // The instance itself is unaffected.
    expect((await instance()).status).toBe('RUNNING');
    await kernel.shutdown().catch(() => undefined);
  }, 300_000);

  it('should report an instance whose kernel gateway was killed as ERROR with the reason, and recover on start', async () => {
    onTestFailed(() => quiet.error(gw.output().slice(-3_000)));
    const agents = (await processesMatching(`instances/${id}/work`)).filter(p => p.cmdline.includes('main.cjs'));
    expect(agents).toHaveLength(1);
    const killedAt = Date.now();
    process.kill(agents[0]!.pid, 'SIGKILL');
    const failed = await waitFor(async () => {
      const s = await instance();
      return s.status === 'ERROR' ? s : undefined;
    }, 'ERROR', 20_000);
    // Noticed from the process exit, long before the 60 s liveness poll.
    expect(Date.now() - killedAt).toBeLessThan(10_000);
    expect(failed.statusReason).toMatch(/stopped unexpectedly: .*(gone|signal|exited)/);
    // The proxy says why instead of hanging.
    const open = await gw.api(`/notebooks/${id}/api/kernels`, { token: gw.adminToken });
    expect(open.status).toBe(409);
    expect(((await open.json()) as { code: string }).code).toBe('NB_ERR_INSTANCE_STATE');

    expect((await gw.api(`/api/v1/notebooks/${id}/start`, { method: 'POST', token: gw.adminToken })).status).toBe(202);
    await waitFor(async () => (await instance()).status === 'RUNNING', 'RUNNING again', 60_000);
    const kernel = await kernels.startNew({ name: 'python3' });
    expect(await execStdout(kernel, 'print(6*7)')).toBe('42\n');
    await kernel.shutdown();
  }, 120_000);
});
