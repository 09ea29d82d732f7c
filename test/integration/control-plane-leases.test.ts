/**
 * Idle auto-stop with a real kernel (issue 5, "What it must show"): an instance whose kernel
 * runs `time.sleep(…)` without output is not stopped; left idle, it is stopped; the trail
 * records the system's stop (and no stop while the kernel was busy).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { KernelManager, ServerConnection } from '@jupyterlab/services';
import type { NotebookInstance, Page } from '../../server/src/api/types';
import type { AuditRecord } from '../../server/src/audit/audit';
import { startGatewayProcess, waitFor, type GatewayProcess } from '../utils/gateway-process';

const IDLE_MINUTES = 0.1; // 6 s
const SLEEP_SECONDS = 20;

describe('idle auto-stop with a real kernel', () => {
  let gw: GatewayProcess;

  beforeAll(async () => {
    gw = await startGatewayProcess({ NBG_LEASE_IDLE_MIN_MINUTES: '0.05', NBG_LEASE_CHECK_INTERVAL_MS: '500' });
  });
  afterAll(async () => {
    await gw?.stop();
  });

  const get = async (id: string): Promise<NotebookInstance> => (await (await gw.api(`/api/v1/notebooks/${id}`, { token: gw.adminToken })).json()) as NotebookInstance;
  const stops = async (id: string): Promise<AuditRecord[]> =>
    ((await (await gw.api(`/api/v1/audit?action=stopNotebook&resourceId=${id}`, { token: gw.adminToken })).json()) as Page<AuditRecord>).items;

  it('should keep an instance with a silently busy kernel and stop it once idle', async () => {
    const created = await gw.api('/api/v1/notebooks', {
      method: 'POST', token: gw.adminToken, json: { name: 'sleepy', image: 'python3.11-cpu-debian12', autoStop: { idleMinutes: IDLE_MINUTES } }
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const inst = (await created.json()) as NotebookInstance;
    await waitFor(async () => {
      const s = await get(inst.id);
      if (s.status === 'ERROR') throw new Error(`instance failed: ${s.statusReason}`);
      return s.status === 'RUNNING';
    }, 'RUNNING', 60_000);

    const base = `${gw.url}/notebooks/${inst.id}/`;
    const serverSettings = ServerConnection.makeSettings({
      baseUrl: base, wsUrl: base.replace(/^http/, 'ws'), token: gw.adminToken, appendToken: true,
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket
    });
    const kernels = new KernelManager({ serverSettings });
    await kernels.ready;
    const kernel = await kernels.startNew({ name: 'python3' });
    const started = Date.now();
    const future = kernel.requestExecute({ code: `import time\ntime.sleep(${SLEEP_SECONDS})` });
    // Well past the idle timeout, with no message in either direction: still running.
    while (Date.now() - started < (SLEEP_SECONDS - 4) * 1000) {
      expect((await get(inst.id)).status).toBe('RUNNING');
      await new Promise(r => setTimeout(r, 1_000));
    }
    expect(await stops(inst.id)).toEqual([]);
    const reply = await future.done;
    expect(reply?.content.status).toBe('ok');
    const finished = Date.now();
    kernel.dispose();
    kernels.dispose();

    // Left alone, it stops within the idle timeout plus a check interval or so.
    const stopped = await waitFor(async () => {
      const s = await get(inst.id);
      return s.status === 'STOPPED' ? s : undefined;
    }, 'STOPPED', 30_000, 250);
    expect(Date.now() - finished).toBeGreaterThanOrEqual(IDLE_MINUTES * 60_000 - 1_000);
    expect(stopped.statusReason).toMatch(/IDLE lease/);
    const trail = await stops(inst.id);
    expect(trail).toHaveLength(1);
    expect(trail[0]).toMatchObject({ actor: { id: null, name: 'system' }, result: 'success', details: { reason: 'idle', idleMinutes: IDLE_MINUTES } });
    // The last activity it acted on is the end of the cell, not the start of the sleep.
    expect(Date.parse(String(trail[0]!.details!.lastActivityAt))).toBeGreaterThan(started + (SLEEP_SECONDS - 3) * 1000);
    expect((await gw.api(`/api/v1/notebooks/${inst.id}`, { method: 'DELETE', token: gw.adminToken })).status).toBe(204);
  });
});
