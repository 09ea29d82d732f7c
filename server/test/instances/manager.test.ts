import { afterEach, describe, expect, it } from 'vitest';
import { FakeDriver } from '../../src/drivers/fake/fake-driver';
import type { NotebookInstance } from '../../src/api/types';
import { loadConfig } from '../../src/config';
import { INSTALL_ROOT, startTestApp, waitFor, type TestApp } from '../utils/app';

const IMAGE = 'python3.11-cpu-debian12';

describe('InstanceManager (through the REST API, fake runtime)', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.dispose();
    t = undefined;
  });

  async function create(name: string, token = t!.adminToken, extra: Record<string, unknown> = {}): Promise<Response> {
    return t!.api('/api/v1/notebooks', { method: 'POST', token, json: { name, image: IMAGE, ...extra } });
  }

  async function status(id: string, token = t!.adminToken): Promise<NotebookInstance> {
    return (await (await t!.api(`/api/v1/notebooks/${id}`, { token })).json()) as NotebookInstance;
  }

  async function until(id: string, want: string): Promise<NotebookInstance> {
    return waitFor(async () => {
      const s = await status(id);
      return s.status === want ? s : undefined;
    }, `status ${want}`);
  }

  describe('spare kernels', () => {
    it('should pass the gateway\'s --kernel-prespawn to the agent, and leave it to the image when unset', async () => {
      const driver = new FakeDriver();
      t = await startTestApp({ driver, config: { kernelPrespawn: 0 } });
      await until(((await (await create('nb1')).json()) as NotebookInstance).id, 'RUNNING');
      expect(driver.specs[0]!.env).toMatchObject({ NBG_KG_KERNEL_PRESPAWN: '0' });
      await t.dispose();
      const unset = new FakeDriver();
      t = await startTestApp({ driver: unset });
      await until(((await (await create('nb2')).json()) as NotebookInstance).id, 'RUNNING');
      expect(unset.specs[0]!.env).not.toHaveProperty('NBG_KG_KERNEL_PRESPAWN');
    });

    it('should accept 0 to 4 spare kernels and refuse anything else by name', () => {
      expect(loadConfig(INSTALL_ROOT, ['--kernel-prespawn', '2'], {}).kernelPrespawn).toBe(2);
      expect(loadConfig(INSTALL_ROOT, [], { NBG_KERNEL_PRESPAWN: '0' }).kernelPrespawn).toBe(0);
      expect(loadConfig(INSTALL_ROOT, [], {}).kernelPrespawn).toBeNull();
      for (const bad of ['5', '-1', '1.5', 'one']) {
        expect(() => loadConfig(INSTALL_ROOT, ['--kernel-prespawn', bad], {})).toThrow(`kernelPrespawn must be an integer from 0 to 4, got "${bad}"`);
      }
    });
  });

  describe('GET /notebooks/{id}/logs', () => {
    it('should answer the instance\'s output as text to its owner, 404 to others, and check tail', async () => {
      const driver = new FakeDriver();
      t = await startTestApp({ driver });
      const bob = await t.user('bob');
      const id = ((await (await create('nb1', bob.token)).json()) as NotebookInstance).id;
      await until(id, 'RUNNING');
      const res = await t.api(`/api/v1/notebooks/${id}/logs?tail=5`, { token: bob.token });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await res.text()).toBe('fake agent: start\n');
      expect(await (await t.api(`/api/v1/notebooks/${id}/logs`, { token: t.adminToken })).text()).toBe('fake agent: start\n');
      const eve = await t.user('eve');
      const other = await t.api(`/api/v1/notebooks/${id}/logs`, { token: eve.token });
      expect(other.status).toBe(404);
      expect(((await other.json()) as { code: string }).code).toBe('NB_ERR_INSTANCE_NOT_FOUND');
      for (const bad of ['0', '10001', 'x', '1.5']) {
        const r = await t.api(`/api/v1/notebooks/${id}/logs?tail=${bad}`, { token: bob.token });
        expect(r.status, bad).toBe(400);
        expect(((await r.json()) as { message: string }).message).toMatch(/tail/);
      }
    });
  });

  describe('#create()', () => {
    it('should create, start, stop and delete an instance', async () => {
      const driver = new FakeDriver();
      t = await startTestApp({ driver });
      const res = await create('nb1');
      expect(res.status).toBe(201);
      const inst = (await res.json()) as NotebookInstance;
      expect(inst.status).toBe('CREATING');
      expect(res.headers.get('location')).toBe(`/api/v1/notebooks/${inst.id}`);
      const running = await until(inst.id, 'RUNNING');
      expect(running.allowedOperations).toContain('stop');
      expect(running.flavor).toBe('cpu.2u8g');
      expect((await t.api(`/api/v1/notebooks/${inst.id}/stop`, { method: 'POST', token: t.adminToken })).status).toBe(202);
      await until(inst.id, 'STOPPED');
      expect((await t.api(`/api/v1/notebooks/${inst.id}`, { method: 'DELETE', token: t.adminToken })).status).toBe(204);
      expect((await t.api(`/api/v1/notebooks/${inst.id}`, { token: t.adminToken })).status).toBe(404);
      expect(driver.calls).toEqual([`start:${inst.id}`, `stop:${inst.id}`, `remove:${inst.id}`]);
    });

    it('should refuse an invalid and a 21-character name with what is allowed', async () => {
      t = await startTestApp({ driver: new FakeDriver() });
      for (const name of ['bad name!', 'x'.repeat(21)]) {
        const res = await create(name);
        expect(res.status).toBe(400);
        const body = (await res.json()) as { code: string; message: string };
        expect(body.code).toBe('NB_ERR_INSTANCE_NAME_INVALID');
        expect(body.message).toMatch(/1–20 characters: letters, digits, "_" and "-"/);
      }
    });

    it('should refuse an 11th instance and a repeated name', async () => {
      t = await startTestApp({ driver: new FakeDriver() });
      for (let i = 0; i < 10; i++) expect((await create(`nb${i}`)).status).toBe(201);
      const eleventh = await create('nb10');
      expect(eleventh.status).toBe(403);
      const body = (await eleventh.json()) as { code: string; message: string };
      expect(body.code).toBe('NB_ERR_INSTANCE_QUOTA');
      expect(body.message).toContain('10 of 10');
      // The same name by another user is fine; by the same user it is not.
      const bob = await t.user('bob');
      expect((await create('nb1', bob.token)).status).toBe(201);
      expect((await create('nb1', bob.token)).status).toBe(409);
    });

    it('should hold the quota under concurrent creates', async () => {
      t = await startTestApp({ driver: new FakeDriver() });
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => create(`c${i}`)));
      expect(results.filter(r => r.status === 201)).toHaveLength(10);
      expect(results.filter(r => r.status === 403)).toHaveLength(20);
    });

    it('should refuse unknown images and flavors, chip mismatches and invite-only flavors', async () => {
      t = await startTestApp({ driver: new FakeDriver() });
      const bob = await t.user('bob');
      const cases: Array<[Record<string, unknown>, number, string]> = [
        [{ name: 'a', image: 'nope' }, 400, 'NB_ERR_IMAGE_NOT_FOUND'],
        [{ name: 'a', image: IMAGE, flavor: 'huge' }, 400, 'NB_ERR_FLAVOR_NOT_FOUND'],
        [{ name: 'a', image: IMAGE, flavor: 'gpu.1x' }, 400, 'NB_ERR_FLAVOR_CHIP_MISMATCH'],
        [{ name: 'a', image: 'pytorch2.1-cuda12.1-ubuntu22.04', flavor: 'gpu.2x' }, 403, 'NB_ERR_FLAVOR_NOT_GRANTED']
      ];
      for (const [json, code, name] of cases) {
        const res = await t.api('/api/v1/notebooks', { method: 'POST', token: bob.token, json });
        expect(res.status, JSON.stringify(json)).toBe(code);
        expect(((await res.json()) as { code: string }).code).toBe(name);
      }
    });
  });

  describe('state rules', () => {
    it('should refuse deleting a RUNNING instance and starting a RUNNING one, naming the state', async () => {
      t = await startTestApp({ driver: new FakeDriver() });
      const inst = (await (await create('nb')).json()) as NotebookInstance;
      await until(inst.id, 'RUNNING');
      const del = await t.api(`/api/v1/notebooks/${inst.id}`, { method: 'DELETE', token: t.adminToken });
      expect(del.status).toBe(409);
      expect(((await del.json()) as { message: string }).message).toBe(
        'Cannot delete instance "nb" while it is RUNNING; stop it first; delete is allowed when STOPPED or ERROR'
      );
      const start = await t.api(`/api/v1/notebooks/${inst.id}/start`, { method: 'POST', token: t.adminToken });
      expect(start.status).toBe(409);
    });

    it('should refuse opening a STOPPED instance through the proxy', async () => {
      t = await startTestApp({ driver: new FakeDriver() });
      const inst = (await (await create('nb')).json()) as NotebookInstance;
      await until(inst.id, 'RUNNING');
      await t.api(`/api/v1/notebooks/${inst.id}/stop`, { method: 'POST', token: t.adminToken });
      await until(inst.id, 'STOPPED');
      const res = await t.api(`${inst.url}api/kernels`, { token: t.adminToken });
      expect(res.status).toBe(409);
      const body = (await res.json()) as { code: string; message: string };
      expect(body.code).toBe('NB_ERR_INSTANCE_STATE');
      expect(body.message).toContain('while it is STOPPED; start it first');
    });

    it('should allow only one of two concurrent stops', async () => {
      t = await startTestApp({ driver: new FakeDriver() });
      const inst = (await (await create('nb')).json()) as NotebookInstance;
      await until(inst.id, 'RUNNING');
      const [a, b] = await Promise.all([1, 2].map(() => t!.api(`/api/v1/notebooks/${inst.id}/stop`, { method: 'POST', token: t!.adminToken })));
      expect([a!.status, b!.status].sort()).toEqual([202, 409]);
    });
  });

  describe('#update()', () => {
    it('should refuse a flavor change while RUNNING but keep a flavor for the next start', async () => {
      t = await startTestApp({ driver: new FakeDriver() });
      const inst = (await (await create('nb')).json()) as NotebookInstance;
      await until(inst.id, 'RUNNING');
      const now = await t.api(`/api/v1/notebooks/${inst.id}`, { method: 'PATCH', token: t.adminToken, json: { flavor: 'cpu.8u32g' } });
      expect(now.status).toBe(409);
      expect(((await now.json()) as { message: string }).message).toContain('the flavor can be changed only when STOPPED');
      const next = await t.api(`/api/v1/notebooks/${inst.id}`, { method: 'PATCH', token: t.adminToken, json: { nextFlavor: 'cpu.8u32g' } });
      expect(next.status).toBe(200);
      expect(await next.json()).toMatchObject({ flavor: 'cpu.2u8g', nextFlavor: 'cpu.8u32g', status: 'RUNNING' });
      const gpu = await t.api(`/api/v1/notebooks/${inst.id}`, { method: 'PATCH', token: t.adminToken, json: { nextFlavor: 'gpu.1x' } });
      expect(gpu.status).toBe(400);
      await t.api(`/api/v1/notebooks/${inst.id}/stop`, { method: 'POST', token: t.adminToken });
      await until(inst.id, 'STOPPED');
      expect((await t.api(`/api/v1/notebooks/${inst.id}/start`, { method: 'POST', token: t.adminToken })).status).toBe(202);
      expect(await until(inst.id, 'RUNNING')).toMatchObject({ flavor: 'cpu.8u32g', nextFlavor: null });
    });
  });

  describe('failures', () => {
    it('should put a failed start in ERROR with the reason, and allow a retry', async () => {
      t = await startTestApp({ driver: FakeDriver.failing('no capacity on this host') });
      const inst = (await (await create('nb')).json()) as NotebookInstance;
      const failed = await until(inst.id, 'ERROR');
      expect(failed.statusReason).toBe('start failed: no capacity on this host');
      expect(failed.allowedOperations).toEqual(expect.arrayContaining(['start', 'delete']));
    });

    it('should time out a start that never finishes', async () => {
      t = await startTestApp({ driver: FakeDriver.never(), config: { startTimeoutMs: 300 } });
      const inst = (await (await create('nb')).json()) as NotebookInstance;
      const failed = await until(inst.id, 'ERROR');
      expect(failed.statusReason).toBe('start failed: start took longer than 300 ms');
    });

    it('should notice an instance that died outside the gateway', async () => {
      const driver = new FakeDriver();
      t = await startTestApp({ driver });
      const inst = (await (await create('nb')).json()) as NotebookInstance;
      await until(inst.id, 'RUNNING');
      driver.kill(inst.id);
      const lost = await until(inst.id, 'ERROR');
      expect(lost.statusReason).toContain('stopped unexpectedly');
    });
  });

  describe('tenancy', () => {
    it("should answer 404 for another user's instance on every path", async () => {
      t = await startTestApp({ driver: new FakeDriver() });
      const alice = await t.user('alice');
      const bob = await t.user('bob');
      const inst = (await (await create('mine', alice.token)).json()) as NotebookInstance;
      await until(inst.id, 'RUNNING');
      const paths: Array<[string, string]> = [
        ['GET', `/api/v1/notebooks/${inst.id}`],
        ['POST', `/api/v1/notebooks/${inst.id}/stop`],
        ['DELETE', `/api/v1/notebooks/${inst.id}`],
        ['GET', `${inst.url}api/kernels`]
      ];
      for (const [method, path] of paths) {
        const res = await t.api(path, { method, token: bob.token });
        expect(res.status, `${method} ${path}`).toBe(404);
      }
      const list = (await (await t.api('/api/v1/notebooks', { token: bob.token })).json()) as { items: unknown[] };
      expect(list.items).toEqual([]);
    });
  });
});
