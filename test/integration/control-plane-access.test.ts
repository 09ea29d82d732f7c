/**
 * Access control against a real gateway, agent and kernel (issue 5): another user's kernel
 * WebSocket and Jupyter API answer 404 through the proxy, an admin gets through; a browser
 * session (cookie) can drive the Jupyter API only with the `_xsrf` header JupyterLab sends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { KernelManager, ServerConnection } from '@jupyterlab/services';
import type { NotebookInstance } from '../../server/src/api/types';
import { startGatewayProcess, waitFor, type GatewayProcess } from '../utils/gateway-process';

describe('access control through the proxy', () => {
  let gw: GatewayProcess;
  let inst: NotebookInstance;
  let bobToken: string;

  beforeAll(async () => {
    gw = await startGatewayProcess();
    for (const name of ['alice', 'bob']) {
      const res = await gw.api('/api/v1/users', { method: 'POST', token: gw.adminToken, json: { name, password: `${name}-password` } });
      expect(res.status).toBe(201);
    }
    const login = async (name: string): Promise<string> =>
      ((await (await gw.api('/api/v1/auth/login', { method: 'POST', json: { username: name, password: `${name}-password` } })).json()) as { token: string }).token;
    const aliceToken = await login('alice');
    bobToken = await login('bob');
    inst = (await (await gw.api('/api/v1/notebooks', { method: 'POST', token: aliceToken, json: { name: 'alices', image: 'python3.11-cpu-debian12' } })).json()) as NotebookInstance;
    await waitFor(async () => ((await (await gw.api(`/api/v1/notebooks/${inst.id}`, { token: aliceToken })).json()) as NotebookInstance).status === 'RUNNING', 'RUNNING', 60_000);
  });
  afterAll(async () => {
    await gw?.stop();
  });

  function kernelsFor(token: string): KernelManager {
    const base = `${gw.url}/notebooks/${inst.id}/`;
    return new KernelManager({
      serverSettings: ServerConnection.makeSettings({
        baseUrl: base, wsUrl: base.replace(/^http/, 'ws'), token, appendToken: true, WebSocket: WebSocket as unknown as typeof globalThis.WebSocket
      })
    });
  }

  it("should answer 404 to another user's kernel requests and WebSocket, and let an admin in", async () => {
    const admin = kernelsFor(gw.adminToken);
    await admin.ready;
    const kernel = await admin.startNew({ name: 'python3' });
    expect((await kernel.requestExecute({ code: '1+1' }).done)?.content.status).toBe('ok');

    // Bob, with a valid session of his own.
    expect((await gw.api(`/notebooks/${inst.id}/api/kernels`, { token: bobToken })).status).toBe(404);
    expect((await gw.api(`/notebooks/${inst.id}/api/kernels`, { method: 'POST', token: bobToken, json: { name: 'python3' } })).status).toBe(404);
    const status = await new Promise<number>(resolve => {
      const ws = new WebSocket(`${gw.url.replace(/^http/, 'ws')}/notebooks/${inst.id}/api/kernels/${kernel.id}/channels?token=${bobToken}`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => undefined);
    });
    expect(status).toBe(404);
    kernel.dispose();
    admin.dispose();
  });

  it('should take a browser session only with the X-XSRFToken header', async () => {
    const login = await gw.api('/api/v1/auth/login', { method: 'POST', json: { username: 'alice', password: 'alice-password' } });
    const cookies = Object.fromEntries(login.headers.getSetCookie().map(c => c.split(';')[0]!.split('=') as [string, string]));
    const cookie = `nbg_session=${cookies.nbg_session}; _xsrf=${cookies._xsrf}`;
    const post = (headers: Record<string, string>): Promise<Response> =>
      fetch(`${gw.url}/notebooks/${inst.id}/api/kernels`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', ...headers }, body: JSON.stringify({ name: 'python3' }) });
    const refused = await post({});
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { code: string }).code).toBe('NB_ERR_CSRF');
    // What JupyterLab's ServerConnection sends when the _xsrf cookie exists.
    const ok = await post({ 'X-XSRFToken': cookies._xsrf! });
    expect(ok.status).toBe(201);
    const k = (await ok.json()) as { id: string };
    // The session cookie itself never reaches the agent; reads need no header.
    expect((await fetch(`${gw.url}/notebooks/${inst.id}/api/kernels/${k.id}`, { headers: { cookie } })).status).toBe(200);
    expect((await fetch(`${gw.url}/notebooks/${inst.id}/api/kernels/${k.id}`, { method: 'DELETE', headers: { cookie, 'X-XSRFToken': cookies._xsrf! } })).status).toBe(204);
  });
});
