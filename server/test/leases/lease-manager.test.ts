/**
 * Auto-stop (SPEC §6) against a stand-in agent whose activity feed the tests control.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeDriver } from '../../src/drivers/fake/fake-driver';
import type { LeaseInfo, NotebookInstance, Page } from '../../src/api/types';
import type { AuditRecord } from '../../src/audit/audit';
import { LeaseManager, httpFeedReader } from '../../src/leases';
import { LeaseStore } from '../../src/leases/lease-store';
import { InstanceStore } from '../../src/instances/instance-store';
import { createLogger } from '../../src/logger';
import { startTestApp, waitFor, type TestApp } from '../utils/app';
import { startEchoAgent, type EchoAgent } from '../utils/echo-agent';

const IMAGE = 'python3.11-cpu-debian12';
/** 1.2 s: short enough for a test, long enough for a few checks at 100 ms. */
const IDLE_MINUTES = 0.02;

describe('LeaseManager', () => {
  let t: TestApp | undefined;
  let agent: EchoAgent | undefined;
  afterEach(async () => {
    await t?.dispose();
    await agent?.dispose();
    t = undefined;
    agent = undefined;
  });

  async function setup(check = 100): Promise<{ t: TestApp; agent: EchoAgent }> {
    agent = await startEchoAgent();
    t = await startTestApp({
      driver: new FakeDriver({ endpoint: agent.endpoint }),
      config: { leaseIdleMinMinutes: 0.01, leaseCheckIntervalMs: check }
    });
    return { t, agent };
  }

  async function create(json: Record<string, unknown>): Promise<NotebookInstance> {
    const res = await t!.api('/api/v1/notebooks', { method: 'POST', token: t!.adminToken, json: { name: 'leased', image: IMAGE, ...json } });
    expect(res.status, await res.clone().text()).toBe(201);
    const inst = (await res.json()) as NotebookInstance;
    await waitFor(async () => (await status(inst.id)).status === 'RUNNING', 'RUNNING');
    return inst;
  }

  async function status(id: string): Promise<NotebookInstance> {
    return (await (await t!.api(`/api/v1/notebooks/${id}`, { token: t!.adminToken })).json()) as NotebookInstance;
  }

  async function systemStops(id: string): Promise<AuditRecord[]> {
    const page = (await (await t!.api(`/api/v1/audit?action=stopNotebook&actor=system&resourceId=${id}`, { token: t!.adminToken })).json()) as Page<AuditRecord>;
    return page.items;
  }

  function feed(busy: boolean, idleForMs: number): () => Record<string, unknown> {
    return () => ({ now: new Date().toISOString(), last_activity: new Date(Date.now() - idleForMs).toISOString(), busy, connections: 1, kernels: [], terminals: [] });
  }

  it('should not stop an instance whose kernel is busy without output, and stop it once idle', async () => {
    const { agent } = await setup();
    // Busy for a long time, without any message: the feed's last activity is old.
    agent.activity = feed(true, 3_600_000);
    const inst = await create({ autoStop: { idleMinutes: IDLE_MINUTES } });
    expect(inst.autoStop).toMatchObject({ idleMinutes: IDLE_MINUTES, timingHours: null });
    await new Promise(r => setTimeout(r, 3_000));
    expect((await status(inst.id)).status).toBe('RUNNING');
    expect(agent.seen.some(s => s.url.endsWith('/api/nbg/activity') && s.authorization?.startsWith('token '))).toBe(true);
    // The cell finished an hour ago and nothing happened since.
    agent.activity = feed(false, 3_600_000);
    const stopped = await waitFor(async () => {
      const s = await status(inst.id);
      return s.status === 'STOPPED' ? s : undefined;
    }, 'STOPPED', 10_000);
    expect(stopped.statusReason).toMatch(/without activity \(IDLE lease\)/);
    const stops = await systemStops(inst.id);
    expect(stops).toHaveLength(1);
    expect(stops[0]).toMatchObject({ actor: { id: null, name: 'system' }, sourceIp: null, result: 'success', details: { reason: 'idle', idleMinutes: IDLE_MINUTES } });
  });

  it('should count proxied writes as activity when the agent has no feed', async () => {
    await setup();
    const inst = await create({ autoStop: { idleMinutes: IDLE_MINUTES } });
    // Keep writing through the proxy for longer than the idle timeout.
    const until = Date.now() + 3_000;
    while (Date.now() < until) {
      expect((await t!.api(`/notebooks/${inst.id}/api/contents/x.txt`, { method: 'PUT', token: t!.adminToken, json: {} })).status).toBe(200);
      await new Promise(r => setTimeout(r, 200));
    }
    expect((await status(inst.id)).status).toBe('RUNNING');
    // Reads alone (what a forgotten browser tab does) do not keep it up.
    const stopAt = Date.now() + 10_000;
    while ((await status(inst.id)).status === 'RUNNING' && Date.now() < stopAt) {
      await t!.api(`/notebooks/${inst.id}/api/kernels`, { token: t!.adminToken });
      await new Promise(r => setTimeout(r, 200));
    }
    await waitFor(async () => (await status(inst.id)).status === 'STOPPED', 'STOPPED', 5_000);
    expect(await systemStops(inst.id)).toHaveLength(1);
  });

  it('should stop at the end of a TIMING lease, and renewal restarts the period', async () => {
    const { agent } = await setup();
    agent.activity = feed(true, 0);
    const inst = await create({ autoStop: { timingHours: 1 } });
    const lease = (await (await t!.api(`/api/v1/notebooks/${inst.id}/lease`, { token: t!.adminToken })).json()) as LeaseInfo;
    const expires = Date.parse(lease.expiresAt!);
    expect(expires - Date.now()).toBeGreaterThan(3_500_000);
    expect(expires - Date.now()).toBeLessThanOrEqual(3_600_000);
    // Two hours pass (the clock is the database's: start and renewal move back).
    await t!.app.db.run('UPDATE instances SET started_at = started_at - 7200000 WHERE id = $1', [inst.id]);
    await t!.app.db.run('UPDATE instance_leases SET renewed_at = renewed_at - 7200000 WHERE instance_id = $1', [inst.id]);
    const stopped = await waitFor(async () => {
      const s = await status(inst.id);
      return s.status === 'STOPPED' ? s : undefined;
    }, 'STOPPED', 10_000);
    expect(stopped.statusReason).toMatch(/TIMING lease \(1 h\)/);
    // The feed said "busy" all along: TIMING is a deadline, not an idle rule.
    expect((await systemStops(inst.id))[0]).toMatchObject({ details: { reason: 'timing', timingHours: 1 } });
  });

  it('should renew from the API, only while RUNNING, and validate settings', async () => {
    await setup(60_000);
    const inst = await create({});
    const renewNone = await t!.api(`/api/v1/notebooks/${inst.id}/lease/renew`, { method: 'POST', token: t!.adminToken });
    expect(renewNone.status).toBe(400);
    for (const bad of [{ timingHours: 0 }, { timingHours: 73 }, { timingHours: 1.5 }, { idleMinutes: 0.001 }, { idle: 5 }]) {
      const res = await t!.api(`/api/v1/notebooks/${inst.id}/lease`, { method: 'PUT', token: t!.adminToken, json: bad });
      expect(res.status, JSON.stringify(bad)).toBe(400);
    }
    const set = (await (await t!.api(`/api/v1/notebooks/${inst.id}/lease`, { method: 'PUT', token: t!.adminToken, json: { timingHours: 2, idleMinutes: 30 } })).json()) as LeaseInfo;
    expect(set).toMatchObject({ timingHours: 2, idleMinutes: 30 });
    await t!.app.db.run('UPDATE instance_leases SET renewed_at = renewed_at - 3600000 WHERE instance_id = $1', [inst.id]);
    await t!.app.db.run('UPDATE instances SET started_at = started_at - 3600000 WHERE id = $1', [inst.id]);
    const before = (await (await t!.api(`/api/v1/notebooks/${inst.id}/lease`, { token: t!.adminToken })).json()) as LeaseInfo;
    expect(Date.parse(before.expiresAt!) - Date.now()).toBeLessThan(3_700_000);
    const renewed = (await (await t!.api(`/api/v1/notebooks/${inst.id}/lease/renew`, { method: 'POST', token: t!.adminToken, json: { timingHours: 3 } })).json()) as LeaseInfo;
    expect(renewed.timingHours).toBe(3);
    expect(Date.parse(renewed.expiresAt!) - Date.now()).toBeGreaterThan(3 * 3_600_000 - 60_000);
    // PATCH sets it too, and null removes it.
    const patched = (await (await t!.api(`/api/v1/notebooks/${inst.id}`, { method: 'PATCH', token: t!.adminToken, json: { autoStop: null } })).json()) as NotebookInstance;
    expect(patched.autoStop).toMatchObject({ timingHours: null, idleMinutes: null, expiresAt: null });
    await t!.api(`/api/v1/notebooks/${inst.id}/stop`, { method: 'POST', token: t!.adminToken });
    await waitFor(async () => (await status(inst.id)).status === 'STOPPED', 'STOPPED');
    await t!.api(`/api/v1/notebooks/${inst.id}/lease`, { method: 'PUT', token: t!.adminToken, json: { timingHours: 1 } });
    const refused = await t!.api(`/api/v1/notebooks/${inst.id}/lease/renew`, { method: 'POST', token: t!.adminToken });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { code: string }).code).toBe('NB_ERR_INSTANCE_STATE');
    const trail = (await (await t!.api(`/api/v1/audit?action=renewNotebookLease&resourceId=${inst.id}`, { token: t!.adminToken })).json()) as Page<AuditRecord>;
    expect(trail.items.map(r => r.result).sort()).toEqual(['failure', 'failure', 'success']);
  });

  it('should act on an expired lease exactly once when several checkers race', async () => {
    const { agent } = await setup(60_000);
    agent.activity = feed(false, 3_600_000);
    const inst = await create({ autoStop: { idleMinutes: IDLE_MINUTES } });
    await t!.app.db.run('UPDATE instance_leases SET last_activity_at = 0, renewed_at = 0 WHERE instance_id = $1', [inst.id]);
    await t!.app.db.run('UPDATE instances SET started_at = 0 WHERE id = $1', [inst.id]);
    // Five more checkers on the same database, as other replicas would be.
    const others = Array.from({ length: 5 }, () => new LeaseManager({
      leases: new LeaseStore(t!.app.db), instances: t!.app.instances, instanceStore: new InstanceStore(t!.app.db), access: t!.app.access,
      activity: t!.app.activity, feed: httpFeedReader(), audit: t!.app.audit, checkIntervalMs: 60_000, log: createLogger('silent')
    }));
    await Promise.all([t!.app.leases.check(), ...others.map(o => o.check())]);
    await waitFor(async () => (await status(inst.id)).status === 'STOPPED', 'STOPPED');
    expect(await systemStops(inst.id)).toHaveLength(1);
    for (const o of others) await o.dispose();
  });
});
