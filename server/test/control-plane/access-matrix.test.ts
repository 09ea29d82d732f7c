/**
 * The access matrix (issue 5, "What it must show"): user A cannot list, get, open, proxy,
 * connect a WebSocket to, stop or delete user B's instance (404), an admin can; denied
 * policies win; tokens past expiry fail.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeDriver } from '../../src/drivers/fake/fake-driver';
import { DEFAULT_FLAVORS } from '../../src/catalogue/flavors';
import type { NotebookInstance, Page } from '../../src/api/types';
import { startTestApp, waitFor, type TestApp } from '../utils/app';
import { startEchoAgent, type EchoAgent } from '../utils/echo-agent';
import { wsHandshake } from '../utils/ws';

const IMAGE = 'python3.11-cpu-debian12';

describe('access control', () => {
  let t: TestApp;
  let agent: EchoAgent;
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };

  beforeAll(async () => {
    agent = await startEchoAgent();
    t = await startTestApp({
      driver: new FakeDriver({ endpoint: agent.endpoint }),
      config: { flavors: [...DEFAULT_FLAVORS, { id: 'cpu.big', chip: 'cpu', cpus: 4, memoryGiB: 16, accelerators: 0, inviteOnly: true, description: 'invite-only CPU' }] }
    });
    alice = await t.user('alice');
    bob = await t.user('bob');
  });
  afterAll(async () => {
    await t?.dispose();
    await agent?.dispose();
  });

  async function createRunning(token: string, name: string): Promise<NotebookInstance> {
    const res = await t.api('/api/v1/notebooks', { method: 'POST', token, json: { name, image: IMAGE } });
    expect(res.status).toBe(201);
    const inst = (await res.json()) as NotebookInstance;
    await waitFor(async () => ((await (await t.api(`/api/v1/notebooks/${inst.id}`, { token: t.adminToken })).json()) as NotebookInstance).status === 'RUNNING', 'RUNNING');
    return inst;
  }

  async function expectCode(res: Response, status: number, code: string): Promise<void> {
    const text = await res.text();
    expect(res.status, text).toBe(status);
    expect((JSON.parse(text) as { code: string }).code).toBe(code);
  }

  describe("another user's instance", () => {
    it('should answer 404 to every path for a user, and work for an admin', async () => {
      const inst = await createRunning(bob.token, 'bobs');
      const id = inst.id;
      const ws = `${t.url.replace(/^http/, 'ws')}/notebooks/${id}/api/kernels/k1/channels`;

      const list = (await (await t.api('/api/v1/notebooks', { token: alice.token })).json()) as Page<NotebookInstance>;
      expect(list.items.map(i => i.id)).not.toContain(id);
      const listAll = (await (await t.api('/api/v1/notebooks?all=true', { token: alice.token })).json()) as Page<NotebookInstance>;
      expect(listAll.items.map(i => i.id)).not.toContain(id);
      await expectCode(await t.api(`/api/v1/notebooks/${id}`, { token: alice.token }), 404, 'NB_ERR_INSTANCE_NOT_FOUND');
      await expectCode(await t.api(`/api/v1/notebooks/${id}/progress`, { token: alice.token }), 404, 'NB_ERR_INSTANCE_NOT_FOUND');
      await expectCode(await t.api(`/api/v1/notebooks/${id}`, { method: 'PATCH', token: alice.token, json: { description: 'mine now' } }), 404, 'NB_ERR_INSTANCE_NOT_FOUND');
      // The lab page is served by the gateway itself (an HTML page), with the same 404.
      expect((await t.api(`/notebooks/${id}/lab`, { token: alice.token })).status).toBe(404);
      await expectCode(await t.api(`/notebooks/${id}/api/kernels`, { token: alice.token }), 404, 'NB_ERR_INSTANCE_NOT_FOUND');
      await expectCode(await t.api(`/notebooks/${id}/api/kernels`, { method: 'POST', token: alice.token, json: { name: 'python3' } }), 404, 'NB_ERR_INSTANCE_NOT_FOUND');
      expect((await wsHandshake(ws, { Authorization: `Bearer ${alice.token}` })).status).toBe(404);
      expect((await wsHandshake(`${ws}?token=${alice.token}`)).status).toBe(404);
      await expectCode(await t.api(`/api/v1/notebooks/${id}/stop`, { method: 'POST', token: alice.token }), 404, 'NB_ERR_INSTANCE_NOT_FOUND');
      await expectCode(await t.api(`/api/v1/notebooks/${id}/start`, { method: 'POST', token: alice.token }), 404, 'NB_ERR_INSTANCE_NOT_FOUND');
      await expectCode(await t.api(`/api/v1/notebooks/${id}`, { method: 'DELETE', token: alice.token }), 404, 'NB_ERR_INSTANCE_NOT_FOUND');
      // The same answer as for an id that does not exist.
      await expectCode(await t.api('/api/v1/notebooks/zzzzzzzzzzzz', { token: alice.token }), 404, 'NB_ERR_INSTANCE_NOT_FOUND');
      // None of Alice's requests reached the agent (the gateway's own platform calls may).
      expect(agent.seen.filter(s => /\/api\/(kernels|status)|\/lab/.test(s.url))).toEqual([]);

      const adminAll = (await (await t.api('/api/v1/notebooks?all=true', { token: t.adminToken })).json()) as Page<NotebookInstance>;
      expect(adminAll.items.map(i => i.id)).toContain(id);
      expect((await t.api(`/api/v1/notebooks/${id}`, { token: t.adminToken })).status).toBe(200);
      expect((await t.api(`/notebooks/${id}/api/kernels`, { token: t.adminToken })).status).toBe(200);
      expect(await wsHandshake(ws, { Authorization: `Bearer ${t.adminToken}` })).toEqual({ status: 101, echo: 'ping' });
      // The agent got its own token, never the user's.
      expect(agent.seen.at(-1)!.authorization).toMatch(/^token /);
      expect(agent.seen.every(s => !s.authorization?.includes(t.adminToken))).toBe(true);
      expect((await t.api(`/api/v1/notebooks/${id}/stop`, { method: 'POST', token: t.adminToken })).status).toBe(202);
      await waitFor(async () => ((await (await t.api(`/api/v1/notebooks/${id}`, { token: bob.token })).json()) as NotebookInstance).status === 'STOPPED', 'STOPPED');
      expect((await t.api(`/api/v1/notebooks/${id}`, { method: 'DELETE', token: t.adminToken })).status).toBe(204);
    });
  });

  describe('policies', () => {
    it('should let an explicit Deny win over the role and over an Allow', async () => {
      const inst = await createRunning(alice.token, 'denyme');
      const put = await t.api(`/api/v1/users/alice/policy`, {
        method: 'PUT', token: t.adminToken,
        json: { statements: [
          { effect: 'Allow', actions: ['notebook:*'] },
          { effect: 'Deny', actions: ['notebook:delete', 'notebook:access'], resources: [`notebook:${inst.id}`], description: 'frozen for review' }
        ] }
      });
      expect(put.status, await put.clone().text()).toBe(200);
      await expectCode(await t.api(`/notebooks/${inst.id}/api/status`, { token: alice.token }), 403, 'NB_ERR_ACCESS_DENIED');
      expect((await wsHandshake(`${t.url.replace(/^http/, 'ws')}/notebooks/${inst.id}/api/kernels/k/channels`, { Authorization: `Bearer ${alice.token}` })).status).toBe(403);
      // Not denied: reading and stopping still work.
      expect((await t.api(`/api/v1/notebooks/${inst.id}`, { token: alice.token })).status).toBe(200);
      expect((await t.api(`/api/v1/notebooks/${inst.id}/stop`, { method: 'POST', token: alice.token })).status).toBe(202);
      await waitFor(async () => ((await (await t.api(`/api/v1/notebooks/${inst.id}`, { token: alice.token })).json()) as NotebookInstance).status === 'STOPPED', 'STOPPED');
      const del = await t.api(`/api/v1/notebooks/${inst.id}`, { method: 'DELETE', token: alice.token });
      await expectCode(del, 403, 'NB_ERR_ACCESS_DENIED');

      // A service-wide Deny stops creates too, even for an administrator's own policy.
      const admin = (await (await t.api('/api/v1/me', { token: t.adminToken })).json()) as { id: string };
      await t.api(`/api/v1/users/${admin.id}/policy`, { method: 'PUT', token: t.adminToken, json: { statements: [{ effect: 'Deny', actions: ['notebook:create'] }] } });
      await expectCode(await t.api('/api/v1/notebooks', { method: 'POST', token: t.adminToken, json: { name: 'x', image: IMAGE } }), 403, 'NB_ERR_ACCESS_DENIED');
      expect((await t.api(`/api/v1/users/${admin.id}/policy`, { method: 'DELETE', token: t.adminToken })).status).toBe(204);

      // Lifting the policy restores the role's rights.
      expect((await t.api('/api/v1/users/alice/policy', { method: 'DELETE', token: t.adminToken })).status).toBe(204);
      expect((await t.api(`/api/v1/notebooks/${inst.id}`, { method: 'DELETE', token: alice.token })).status).toBe(204);
    });

    it('should refuse malformed policies with what is allowed, and only admins may set them', async () => {
      const bad = [
        { statements: [{ effect: 'allow', actions: ['notebook:*'] }] },
        { statements: [{ effect: 'Deny', actions: ['notebok:*'] }] },
        { statements: [{ effect: 'Deny', actions: ['notebook:destroy'] }] },
        { statements: [{ effect: 'Deny', actions: ['notebook:get'], resources: ['instance:1'] }] },
        { rules: [] }
      ];
      for (const json of bad) await expectCode(await t.api('/api/v1/users/bob/policy', { method: 'PUT', token: t.adminToken, json }), 400, 'NB_ERR_VALIDATION');
      await expectCode(await t.api('/api/v1/users/bob/policy', { method: 'PUT', token: bob.token, json: { statements: [] } }), 403, 'NB_ERR_ACCESS_DENIED');
      const mine = (await (await t.api('/api/v1/users/bob/policy', { token: bob.token })).json()) as { effective: { effect: string }[] };
      expect(mine.effective[0]).toMatchObject({ effect: 'Allow' });
      await expectCode(await t.api('/api/v1/users/alice/policy', { token: bob.token }), 404, 'NB_ERR_USER_NOT_FOUND');
    });
  });

  describe('API tokens', () => {
    it('should be shown once, listed without the secret, and fail after expiry or revocation', async () => {
      const created = await t.api('/api/v1/tokens', { method: 'POST', token: alice.token, json: { name: 'ci', expiresAt: new Date(Date.now() + 1_500).toISOString() } });
      expect(created.status).toBe(201);
      const tok = (await created.json()) as { id: string; token: string; expiresAt: string };
      expect(tok.token).toMatch(/^nbg_a_/);
      const listed = (await (await t.api('/api/v1/tokens', { token: alice.token })).json()) as { items: Record<string, unknown>[] };
      expect(listed.items.find(i => i.id === tok.id)).toBeDefined();
      expect(JSON.stringify(listed)).not.toContain(tok.token);
      expect((await t.api('/api/v1/notebooks', { token: tok.token })).status).toBe(200);
      await new Promise(r => setTimeout(r, 1_600));
      await expectCode(await t.api('/api/v1/notebooks', { token: tok.token }), 401, 'NB_ERR_TOKEN_EXPIRED');
      // Through the proxy and WebSockets as well.
      await expectCode(await t.api('/notebooks/abcdefabcdef/api/status', { token: tok.token }), 401, 'NB_ERR_TOKEN_EXPIRED');
      expect((await wsHandshake(`${t.url.replace(/^http/, 'ws')}/notebooks/abcdefabcdef/api/kernels/k/channels?token=${tok.token}`)).status).toBe(401);

      const other = (await (await t.api('/api/v1/tokens', { method: 'POST', token: alice.token, json: { name: 'other' } })).json()) as { id: string; token: string };
      expect((await t.api('/api/v1/notebooks', { token: other.token })).status).toBe(200);
      await expectCode(await t.api(`/api/v1/tokens/${other.id}`, { method: 'DELETE', token: bob.token }), 404, 'NB_ERR_TOKEN_NOT_FOUND');
      expect((await t.api(`/api/v1/tokens/${other.id}`, { method: 'DELETE', token: alice.token })).status).toBe(204);
      await expectCode(await t.api('/api/v1/notebooks', { token: other.token }), 401, 'NB_ERR_UNAUTHENTICATED');
    });

    it('should limit a scoped token to its actions and keep it from managing credentials', async () => {
      const tok = (await (await t.api('/api/v1/tokens', { method: 'POST', token: alice.token, json: { name: 'ro', scope: ['notebook:list', 'notebook:get'] } })).json()) as { token: string };
      expect((await t.api('/api/v1/notebooks', { token: tok.token })).status).toBe(200);
      await expectCode(await t.api('/api/v1/notebooks', { method: 'POST', token: tok.token, json: { name: 'nope', image: IMAGE } }), 403, 'NB_ERR_TOKEN_SCOPE');
      await expectCode(await t.api('/api/v1/tokens', { method: 'POST', token: tok.token, json: { name: 'escalate' } }), 403, 'NB_ERR_TOKEN_SCOPE');
      await expectCode(await t.api('/api/v1/tokens', { method: 'POST', token: alice.token, json: { name: 'bad', scope: ['notebook:fly'] } }), 400, 'NB_ERR_VALIDATION');
    });
  });

  describe('invite-only flavors', () => {
    it('should need an admin grant, and the grant can be revoked', async () => {
      const json = { name: 'big', image: IMAGE, flavor: 'cpu.big' };
      await expectCode(await t.api('/api/v1/notebooks', { method: 'POST', token: alice.token, json }), 403, 'NB_ERR_FLAVOR_NOT_GRANTED');
      await expectCode(await t.api('/api/v1/users/alice/flavor-grants/cpu.big', { method: 'PUT', token: bob.token }), 403, 'NB_ERR_ACCESS_DENIED');
      await expectCode(await t.api('/api/v1/users/alice/flavor-grants/cpu.2u8g', { method: 'PUT', token: t.adminToken }), 400, 'NB_ERR_VALIDATION');
      await expectCode(await t.api('/api/v1/users/alice/flavor-grants/nope', { method: 'PUT', token: t.adminToken }), 400, 'NB_ERR_FLAVOR_NOT_FOUND');
      const flavors = async (token: string): Promise<Record<string, boolean>> =>
        Object.fromEntries(((await (await t.api('/api/v1/flavors', { token })).json()) as { items: { id: string; granted: boolean }[] }).items.map(f => [f.id, f.granted]));
      expect((await flavors(alice.token))['cpu.big']).toBe(false);
      expect((await flavors(alice.token))['cpu.2u8g']).toBe(true);
      expect((await flavors(t.adminToken))['cpu.big']).toBe(true);
      expect((await t.api('/api/v1/users/alice/flavor-grants/cpu.big', { method: 'PUT', token: t.adminToken })).status).toBe(201);
      expect((await flavors(alice.token))['cpu.big']).toBe(true);
      expect((await t.api('/api/v1/users/alice/flavor-grants/cpu.big', { method: 'PUT', token: t.adminToken })).status).toBe(200);
      const grants = (await (await t.api('/api/v1/users/alice/flavor-grants', { token: alice.token })).json()) as { items: { flavor: string }[] };
      expect(grants.items.map(g => g.flavor)).toEqual(['cpu.big']);
      const res = await t.api('/api/v1/notebooks', { method: 'POST', token: alice.token, json });
      expect(res.status).toBe(201);
      // Bob has no grant.
      await expectCode(await t.api('/api/v1/notebooks', { method: 'POST', token: bob.token, json }), 403, 'NB_ERR_FLAVOR_NOT_GRANTED');
      expect((await t.api('/api/v1/users/alice/flavor-grants/cpu.big', { method: 'DELETE', token: t.adminToken })).status).toBe(204);
      await expectCode(await t.api('/api/v1/notebooks', { method: 'POST', token: alice.token, json: { ...json, name: 'big2' } }), 403, 'NB_ERR_FLAVOR_NOT_GRANTED');
    });
  });
});
