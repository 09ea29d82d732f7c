import { afterEach, describe, expect, it } from 'vitest';
import { FakeDriver } from '../../src/drivers/fake/fake-driver';
import type { NotebookInstance, Page } from '../../src/api/types';
import type { AuditRecord } from '../../src/audit/audit';
import { startTestApp, waitFor, type TestApp } from '../utils/app';
import { startEchoAgent, type EchoAgent } from '../utils/echo-agent';

const IMAGE = 'python3.11-cpu-debian12';

describe('audit trail through the API', () => {
  let t: TestApp | undefined;
  let agent: EchoAgent | undefined;
  afterEach(async () => {
    await t?.dispose();
    await agent?.dispose();
    t = undefined;
    agent = undefined;
  });

  async function trail(token: string, query = ''): Promise<Page<AuditRecord>> {
    const res = await t!.api(`/api/v1/audit${query}`, { token });
    expect(res.status).toBe(200);
    return (await res.json()) as Page<AuditRecord>;
  }

  async function until(id: string, status: string, token = t!.adminToken): Promise<void> {
    await waitFor(async () => ((await (await t!.api(`/api/v1/notebooks/${id}`, { token })).json()) as NotebookInstance).status === status, status);
  }

  it('should record create, open, update, stop, start and delete with actor, address and result', async () => {
    agent = await startEchoAgent();
    t = await startTestApp({ driver: new FakeDriver({ endpoint: agent.endpoint }) });
    const alice = await t.user('alice');
    const created = (await (await t.api('/api/v1/notebooks', { method: 'POST', token: alice.token, json: { name: 'nb', image: IMAGE } })).json()) as NotebookInstance;
    await until(created.id, 'RUNNING');
    expect((await t.api(`/notebooks/${created.id}/api/status`, { token: alice.token })).status).toBe(200);
    expect((await t.api(`/notebooks/${created.id}/api/kernels`, { token: alice.token })).status).toBe(200);
    expect((await t.api(`/api/v1/notebooks/${created.id}`, { method: 'PATCH', token: alice.token, json: { description: 'x' } })).status).toBe(200);
    expect((await t.api(`/api/v1/notebooks/${created.id}/stop`, { method: 'POST', token: alice.token })).status).toBe(202);
    await until(created.id, 'STOPPED');
    expect((await t.api(`/api/v1/notebooks/${created.id}/start`, { method: 'POST', token: alice.token })).status).toBe(202);
    await until(created.id, 'RUNNING');
    await t.api(`/api/v1/notebooks/${created.id}/stop`, { method: 'POST', token: alice.token });
    await until(created.id, 'STOPPED');
    expect((await t.api(`/api/v1/notebooks/${created.id}`, { method: 'DELETE', token: alice.token })).status).toBe(204);

    const page = await trail(alice.token, `?resourceId=${created.id}`);
    expect(page.items.map(r => r.action).reverse()).toEqual([
      'createNotebook', 'openNotebook', 'updateNotebook', 'stopNotebook', 'startNotebook', 'stopNotebook', 'deleteNotebook'
    ]);
    for (const r of page.items) {
      expect(r.actor).toEqual({ id: alice.id, name: 'alice' });
      expect(r.sourceIp).toBe('127.0.0.1');
      expect(r.result).toBe('success');
      expect(r.resource).toMatchObject({ type: 'notebook', id: created.id, name: 'nb', ownerId: alice.id });
      expect(Number.isNaN(Date.parse(r.time))).toBe(false);
    }
  });

  it("should record failures, and not show other users' records", async () => {
    t = await startTestApp({ driver: new FakeDriver() });
    const alice = await t.user('alice');
    const bob = await t.user('bob');
    const res = await t.api('/api/v1/notebooks', { method: 'POST', token: alice.token, json: { name: 'bad name!', image: IMAGE } });
    expect(res.status).toBe(400);
    const created = (await (await t.api('/api/v1/notebooks', { method: 'POST', token: alice.token, json: { name: 'mine', image: IMAGE } })).json()) as NotebookInstance;
    await until(created.id, 'RUNNING');
    // Bob tries Alice's instance: 404, recorded as his failure without her instance's name.
    expect((await t.api(`/api/v1/notebooks/${created.id}/stop`, { method: 'POST', token: bob.token })).status).toBe(404);

    const aliceTrail = await trail(alice.token);
    const failed = aliceTrail.items.find(r => r.result === 'failure')!;
    expect(failed).toMatchObject({ action: 'createNotebook', details: { code: 'NB_ERR_INSTANCE_NAME_INVALID' } });
    expect(aliceTrail.items.every(r => r.actor.name === 'alice')).toBe(true);

    const bobTrail = await trail(bob.token, '?resourceType=notebook');
    expect(bobTrail.items).toHaveLength(1);
    expect(bobTrail.items[0]).toMatchObject({ action: 'stopNotebook', result: 'failure', resource: { id: created.id, name: null, ownerId: null }, details: { code: 'NB_ERR_INSTANCE_NOT_FOUND' } });

    const all = await trail(t.adminToken, '?result=failure');
    expect(all.total).toBe(2);
    expect((await trail(t.adminToken, '?actor=bob&action=stopNotebook')).total).toBe(1);
  });

  it('should refuse bad filters with what is allowed', async () => {
    t = await startTestApp({ driver: new FakeDriver() });
    for (const q of ['?action=nope', '?since=yesterday', '?resourceType=planet', '?limit=0']) {
      const res = await t.api(`/api/v1/audit${q}`, { token: t.adminToken });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { code: string }).code).toBe('NB_ERR_VALIDATION');
    }
  });
});
