/**
 * Two gateway replicas on one PostgreSQL (issue 5, "What it must show"): an instance created
 * through one is opened through the other; an expiring lease is acted on exactly once.
 * PostgreSQL is Debian's, started by the test in a temp dir.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { KernelManager, ServerConnection, type KernelMessage } from '@jupyterlab/services';
import type { NotebookInstance, Page } from '../../server/src/api/types';
import type { AuditRecord } from '../../server/src/audit/audit';
import { startPostgres, type TestPostgres } from '../../server/test/utils/postgres';
import { startGatewayProcess, waitFor, type GatewayProcess } from '../utils/gateway-process';

const IMAGE = 'python3.11-cpu-debian12';

describe('two gateway replicas on one PostgreSQL', () => {
  let pg: TestPostgres;
  let a: GatewayProcess;
  let b: GatewayProcess;

  beforeAll(async () => {
    pg = await startPostgres();
    const env = { NBG_DATABASE_URL: await pg.createDatabase(), NBG_LEASE_IDLE_MIN_MINUTES: '0.05', NBG_LEASE_CHECK_INTERVAL_MS: '300', NBG_POLL_INTERVAL_MS: '1000' };
    // Both boot at once: migrations and the first administrator are created once.
    [a, b] = await Promise.all([startGatewayProcess(env), startGatewayProcess(env)]);
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await pg?.stop();
  });

  const get = async (gw: GatewayProcess, id: string): Promise<NotebookInstance> =>
    (await (await gw.api(`/api/v1/notebooks/${id}`, { token: gw.adminToken })).json()) as NotebookInstance;

  it('should open through one replica an instance created through the other, and act on its lease once', async () => {
    expect(((await (await a.api('/api/v1/health')).json()) as { database: string }).database).toBe('postgres');
    const created = await a.api('/api/v1/notebooks', { method: 'POST', token: a.adminToken, json: { name: 'shared', image: IMAGE } });
    expect(created.status).toBe(201);
    const inst = (await created.json()) as NotebookInstance;
    // Replica B sees it, with A's session token (sessions live in the database).
    await waitFor(async () => {
      const s = await get(b, inst.id);
      if (s.status === 'ERROR') throw new Error(`instance failed: ${s.statusReason}`);
      return s.status === 'RUNNING';
    }, 'RUNNING on B', 60_000);
    expect((await b.api(`/notebooks/${inst.id}/api/status`, { token: a.adminToken })).status).toBe(200);

    // Run code through B's proxy, as JupyterLab would.
    const base = `${b.url}/notebooks/${inst.id}/`;
    const serverSettings = ServerConnection.makeSettings({
      baseUrl: base, wsUrl: base.replace(/^http/, 'ws'), token: b.adminToken, appendToken: true,
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket
    });
    const kernels = new KernelManager({ serverSettings });
    await kernels.ready;
    const kernel = await kernels.startNew({ name: 'python3' });
    const outputs: string[] = [];
    const future = kernel.requestExecute({ code: '6*7' });
    future.onIOPub = (msg: KernelMessage.IIOPubMessage) => {
      if (msg.header.msg_type === 'execute_result') outputs.push((msg as KernelMessage.IExecuteResultMsg).content.data['text/plain'] as string);
    };
    expect((await future.done)?.content.status).toBe('ok');
    expect(outputs).toEqual(['42']);
    kernel.dispose();
    kernels.dispose();
    const opened = (await (await b.api(`/api/v1/audit?action=openNotebook&resourceId=${inst.id}`, { token: a.adminToken })).json()) as Page<AuditRecord>;
    expect(opened.total).toBeGreaterThanOrEqual(1);

    // B's event stream reports what A does: status changes, and the steps of a start A runs.
    const seen: string[] = [];
    const abort = new AbortController();
    const stream = (async () => {
      const res = await fetch(`${b.url}/api/v1/notebooks/${inst.id}/events`, { headers: { Authorization: `Bearer ${b.adminToken}` }, signal: abort.signal });
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        for (const m of decoder.decode(value).matchAll(/event: (status|progress)\ndata: (.*)\n/g)) {
          const data = JSON.parse(m[2]!) as { status?: string; step?: string };
          seen.push(m[1] === 'status' ? data.status! : `step:${data.step}`);
        }
      }
    })();
    await waitFor(async () => seen.includes('RUNNING'), 'the stream to start');
    expect((await a.api(`/api/v1/notebooks/${inst.id}/stop`, { method: 'POST', token: a.adminToken })).status).toBe(202);
    await waitFor(async () => seen.includes('STOPPED'), 'B to report STOPPED', 30_000);
    const mark = seen.length;
    expect((await a.api(`/api/v1/notebooks/${inst.id}/start`, { method: 'POST', token: a.adminToken })).status).toBe(202);
    await waitFor(async () => seen.slice(mark).includes('RUNNING'), 'B to report RUNNING after A\'s start', 60_000);
    const restart = seen.slice(mark);
    // The steps A recorded, each once and in order, before RUNNING.
    const steps = restart.slice(0, restart.indexOf('RUNNING')).filter(s => s.startsWith('step:'));
    expect(steps.length).toBeGreaterThanOrEqual(2);
    expect(new Set(steps).size).toBe(steps.length);
    expect(steps.at(-1)).toBe('step:ready');
    const snapshot = (await (await b.api(`/api/v1/notebooks/${inst.id}/progress`, { token: b.adminToken })).json()) as { events: { step: string }[] };
    expect(snapshot.events.map(e => `step:${e.step}`)).toEqual(steps);
    abort.abort();
    await stream;
    expect((await b.api(`/api/v1/notebooks/${inst.id}/stop`, { method: 'POST', token: b.adminToken })).status).toBe(202);
    await waitFor(async () => (await get(a, inst.id)).status === 'STOPPED', 'STOPPED again', 30_000);

    // Start it again through B, with a short IDLE lease: both replicas check it every ~300 ms.
    expect((await b.api(`/api/v1/notebooks/${inst.id}/start`, { method: 'POST', token: b.adminToken })).status).toBe(202);
    await waitFor(async () => (await get(a, inst.id)).status === 'RUNNING', 'RUNNING again', 60_000);
    const lease = await a.api(`/api/v1/notebooks/${inst.id}/lease`, { method: 'PUT', token: a.adminToken, json: { idleMinutes: 0.05 } });
    expect(lease.status).toBe(200);
    const stopped = await waitFor(async () => {
      const s = await get(b, inst.id);
      return s.status === 'STOPPED' ? s : undefined;
    }, 'the idle stop', 60_000);
    expect(stopped.statusReason).toMatch(/IDLE lease/);
    // Let both replicas run a few more checks, then count.
    await new Promise(r => setTimeout(r, 1_500));
    const stops = (await (await a.api(`/api/v1/audit?action=stopNotebook&actor=system&resourceId=${inst.id}`, { token: a.adminToken })).json()) as Page<AuditRecord>;
    expect(stops.total).toBe(1);
    expect(stops.items[0]).toMatchObject({ result: 'success', details: { reason: 'idle' } });
    expect((await get(a, inst.id)).status).toBe('STOPPED');
    expect((await b.api(`/api/v1/notebooks/${inst.id}`, { method: 'DELETE', token: b.adminToken })).status).toBe(204);
  });
});
