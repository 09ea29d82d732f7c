/**
 * The walking skeleton, end to end (issue 2): the built gateway on a free port creates an
 * instance over REST, `@jupyterlab/services` runs `6*7` through the gateway's proxy, and
 * stopping and deleting the instance leaves no process behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { KernelManager, ServerConnection, type KernelMessage } from '@jupyterlab/services';
import type { NotebookInstance } from '../../server/src/api/types';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT, startGatewayProcess, waitFor, type GatewayProcess } from '../utils/gateway-process';

const execFileP = promisify(execFile);
import { isAlive, processesMatching } from '../utils/processes';

describe('walking skeleton', () => {
  let gw: GatewayProcess;

  beforeAll(async () => {
    gw = await startGatewayProcess();
  });

  afterAll(async () => {
    await gw?.stop();
  });

  it('should answer health without signing in', async () => {
    const res = await gw.api('/api/v1/health');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', runtime: 'local', database: 'sqlite' });
  });

  it('should run 6*7 through the proxy and leave no process behind', async () => {
    const created = await gw.api('/api/v1/notebooks', {
      method: 'POST', token: gw.adminToken, json: { name: 'skeleton', image: 'python3.11-cpu-debian12' }
    });
    expect(created.status).toBe(201);
    const inst = (await created.json()) as NotebookInstance;
    const get = async (): Promise<NotebookInstance> => (await (await gw.api(`/api/v1/notebooks/${inst.id}`, { token: gw.adminToken })).json()) as NotebookInstance;
    const running = await waitFor(async () => {
      const s = await get();
      if (s.status === 'ERROR') throw new Error(`instance failed: ${s.statusReason}`);
      return s.status === 'RUNNING' ? s : undefined;
    }, 'RUNNING');
    expect(running.url).toBe(`/notebooks/${inst.id}/`);

    const base = `${gw.url}${running.url}`;
    const settings = ServerConnection.makeSettings({
      baseUrl: base,
      wsUrl: base.replace(/^http/, 'ws'),
      token: gw.adminToken,
      appendToken: true,
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket
    });
    const kernels = new KernelManager({ serverSettings: settings });
    await kernels.ready;
    const kernel = await kernels.startNew({ name: 'python3' });
    const results: string[] = [];
    const future = kernel.requestExecute({ code: '6*7' });
    future.onIOPub = (msg: KernelMessage.IIOPubMessage) => {
      if (msg.header.msg_type === 'execute_result') {
        results.push((msg as KernelMessage.IExecuteResultMsg).content.data['text/plain'] as string);
      }
    };
    const reply = await future.done;
    expect(reply?.content.status).toBe('ok');
    expect(results).toEqual(['42']);

    // The agent and its kernel, found by the instance's base URL and connection dir.
    const agents = await processesMatching(`/notebooks/${inst.id}/`);
    expect(agents).toHaveLength(1);
    const kernelProcs = await processesMatching(`/tmp/nbkg-${agents[0]!.pid}/`);
    expect(kernelProcs).toHaveLength(1);
    kernel.dispose();
    kernels.dispose();

    expect((await gw.api(`/api/v1/notebooks/${inst.id}/stop`, { method: 'POST', token: gw.adminToken })).status).toBe(202);
    await waitFor(async () => (await get()).status === 'STOPPED', 'STOPPED');
    expect((await gw.api(`/api/v1/notebooks/${inst.id}`, { method: 'DELETE', token: gw.adminToken })).status).toBe(204);
    await waitFor(async () => !(await isAlive(agents[0]!.pid)) && !(await isAlive(kernelProcs[0]!.pid)), 'agent and kernel to exit', 10_000);
    expect(await processesMatching(`/notebooks/${inst.id}/`)).toEqual([]);
  });

  it("should run the README's example client", async () => {
    const created = await gw.api('/api/v1/notebooks', { method: 'POST', token: gw.adminToken, json: { name: 'readme', image: 'python3.11-cpu-debian12' } });
    const inst = (await created.json()) as NotebookInstance;
    await waitFor(async () => ((await (await gw.api(`/api/v1/notebooks/${inst.id}`, { token: gw.adminToken })).json()) as NotebookInstance).status === 'RUNNING', 'RUNNING');
    const { stdout } = await execFileP(process.execPath, [join(ROOT, 'examples/run-code.mjs'), gw.url, inst.id, 'print(6*7)'], {
      env: { ...process.env, NBG_TOKEN: gw.adminToken }
    });
    expect(stdout.trim()).toBe('42');
    await gw.api(`/api/v1/notebooks/${inst.id}/stop`, { method: 'POST', token: gw.adminToken });
  });

  it('should refuse a WebSocket to a kernel without credentials', async () => {
    const created = await gw.api('/api/v1/notebooks', { method: 'POST', token: gw.adminToken, json: { name: 'ws-auth', image: 'python3.11-cpu-debian12' } });
    const inst = (await created.json()) as NotebookInstance;
    await waitFor(async () => ((await (await gw.api(`/api/v1/notebooks/${inst.id}`, { token: gw.adminToken })).json()) as NotebookInstance).status === 'RUNNING', 'RUNNING');
    const status = await new Promise<number>(resolve => {
      const ws = new WebSocket(`${gw.url.replace(/^http/, 'ws')}/notebooks/${inst.id}/api/kernels/x/channels`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => undefined);
    });
    expect(status).toBe(401);
    await gw.api(`/api/v1/notebooks/${inst.id}/stop`, { method: 'POST', token: gw.adminToken });
    await waitFor(async () => ((await (await gw.api(`/api/v1/notebooks/${inst.id}`, { token: gw.adminToken })).json()) as NotebookInstance).status === 'STOPPED', 'STOPPED');
    expect((await gw.api(`/api/v1/notebooks/${inst.id}`, { method: 'DELETE', token: gw.adminToken })).status).toBe(204);
  });
});
