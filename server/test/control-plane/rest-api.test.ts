/**
 * REST API polish (issue 5): the OpenAPI 3.1 document is served and enforced, creates take
 * an Idempotency-Key, and long operations have an SSE progress stream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FakeDriver } from '../../src/drivers/fake/fake-driver';
import type { NotebookInstance, Page } from '../../src/api/types';
import { apiDocument, registeredRoutes, toOpenApiPath } from '../../src/api/openapi';
import { startTestApp, waitFor, type TestApp } from '../utils/app';

const IMAGE = 'python3.11-cpu-debian12';

describe('REST API', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ driver: FakeDriver.slow(300) });
  });
  afterAll(async () => {
    await t?.dispose();
  });

  async function err(res: Response): Promise<{ error: string; code: string; message: string }> {
    return (await res.json()) as { error: string; code: string; message: string };
  }

  describe('OpenAPI document', () => {
    it('should be served as JSON and YAML without signing in', async () => {
      const json = await t.api('/api/v1/openapi.json');
      expect(json.status).toBe(200);
      const doc = (await json.json()) as { openapi: string; paths: Record<string, unknown> };
      expect(doc.openapi).toBe('3.1.0');
      expect(doc.paths['/api/v1/notebooks']).toBeDefined();
      const yaml = await t.api('/api/v1/openapi.yaml');
      expect(yaml.headers.get('content-type')).toMatch(/yaml/);
      expect(parse(await yaml.text())).toEqual(doc);
    });

    it('should document every /api/v1 route the gateway registers', () => {
      const { doc } = apiDocument();
      const missing = registeredRoutes()
        .map(r => r.split(' ') as [string, string])
        .filter(([m, url]) => url.startsWith('/api/v1/') && m !== 'HEAD')
        .filter(([m, url]) => !doc.paths[toOpenApiPath(url)]?.[m.toLowerCase() as 'get'])
        .map(([m, url]) => `${m} ${toOpenApiPath(url)}`);
      expect(missing, 'add these to server/api/openapi.yaml (docs/control-plane.md "REST API")').toEqual([]);
    });

    it('should refuse requests that break the document, naming the field and what is allowed', async () => {
      const cases: [string, RequestInit & { json?: unknown }, RegExp][] = [
        ['/api/v1/notebooks', { method: 'POST', json: { image: IMAGE } }, /"name" is required/],
        ['/api/v1/notebooks', { method: 'POST', json: { name: 'x', image: IMAGE, storage: { sizeGB: '5' } } }, /"storage.sizeGB" must be integer/],
        ['/api/v1/notebooks', { method: 'POST', json: { name: 'x', image: IMAGE, storage: { type: 'nfs' } } }, /"storage.type" must be one of "local", "obs"/],
        ['/api/v1/notebooks?limit=abc', {}, /query "limit" must be integer/],
        ['/api/v1/notebooks?limit=500', {}, /query "limit" must be <= 200/],
        ['/api/v1/users', { method: 'POST', json: { name: 'zed', password: 'zed-password', role: 'root' } }, /"role" must be one of "admin", "user"/],
        ['/api/v1/audit?result=maybe', {}, /query "result" must be one of "success", "failure"/]
      ];
      for (const [path, init, message] of cases) {
        const res = await t.api(path, { ...init, token: t.adminToken });
        const body = await err(res);
        expect(res.status, path).toBe(400);
        expect(body.code).toBe('NB_ERR_VALIDATION');
        expect(body.message).toMatch(message);
        expect(body.error).toBe('Bad Request');
      }
    });

    it('should answer unknown routes with the one error shape', async () => {
      const res = await t.api('/api/v1/nope', { token: t.adminToken });
      expect(res.status).toBe(404);
      expect(await err(res)).toEqual({ error: 'Not Found', code: 'NB_ERR_NOT_FOUND', message: 'No route for GET /api/v1/nope' });
    });
  });

  describe('Idempotency-Key', () => {
    it('should create once and replay the first answer for a retry', async () => {
      const headers = { 'Idempotency-Key': 'create-once-1' };
      const first = await t.api('/api/v1/notebooks', { method: 'POST', token: t.adminToken, headers, json: { name: 'idem', image: IMAGE } });
      expect(first.status).toBe(201);
      const a = (await first.json()) as NotebookInstance;
      const again = await t.api('/api/v1/notebooks', { method: 'POST', token: t.adminToken, headers, json: { image: IMAGE, name: 'idem' } });
      expect(again.status).toBe(201);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.headers.get('location')).toBe(`/api/v1/notebooks/${a.id}`);
      expect(((await again.json()) as NotebookInstance).id).toBe(a.id);
      const list = (await (await t.api('/api/v1/notebooks', { token: t.adminToken })).json()) as Page<NotebookInstance>;
      expect(list.items.filter(i => i.name === 'idem')).toHaveLength(1);
      // The same key for another request is a client bug.
      const other = await t.api('/api/v1/notebooks', { method: 'POST', token: t.adminToken, headers, json: { name: 'idem2', image: IMAGE } });
      expect(other.status).toBe(422);
      expect((await err(other)).code).toBe('NB_ERR_IDEMPOTENCY_MISMATCH');
      // Keys are per user: another user's identical key is a new request.
      const bob = await t.user('bob');
      expect((await t.api('/api/v1/notebooks', { method: 'POST', token: bob.token, headers, json: { name: 'idem', image: IMAGE } })).status).toBe(201);
    });

    it('should let only one of several concurrent retries act', async () => {
      const headers = { 'Idempotency-Key': 'concurrent-1' };
      const results = await Promise.all(Array.from({ length: 6 }, () =>
        t.api('/api/v1/notebooks', { method: 'POST', token: t.adminToken, headers, json: { name: 'race', image: IMAGE } })));
      const fresh = results.filter(r => r.status === 201 && !r.headers.get('idempotent-replayed'));
      expect(fresh).toHaveLength(1);
      for (const r of results) expect([201, 409]).toContain(r.status);
      const list = (await (await t.api('/api/v1/notebooks', { token: t.adminToken })).json()) as Page<NotebookInstance>;
      expect(list.items.filter(i => i.name === 'race')).toHaveLength(1);
    });

    it('should refuse a malformed key', async () => {
      const res = await t.api('/api/v1/notebooks', { method: 'POST', token: t.adminToken, headers: { 'Idempotency-Key': 'has space' }, json: { name: 'k', image: IMAGE } });
      expect(res.status).toBe(400);
    });
  });

  describe('progress stream (SSE)', () => {
    it('should stream status changes and start progress until the instance is deleted', async () => {
      const created = (await (await t.api('/api/v1/notebooks', { method: 'POST', token: t.adminToken, json: { name: 'sse', image: IMAGE } })).json()) as NotebookInstance;
      const res = await t.api(`/api/v1/notebooks/${created.id}/events`, { token: t.adminToken });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const events: { event: string; data: Record<string, unknown> }[] = [];
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let buf = '';
      const pump = (async () => {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buf += decoder.decode(value, { stream: true });
          let i: number;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (event && data) events.push({ event, data: JSON.parse(data) as Record<string, unknown> });
          }
        }
      })();
      await waitFor(async () => events.some(e => e.event === 'status' && e.data.status === 'RUNNING'), 'RUNNING event');
      expect(events[0]!.event).toBe('status');
      expect(events.some(e => e.event === 'progress' && e.data.step === 'ready' && e.data.progress === 100)).toBe(true);
      await t.api(`/api/v1/notebooks/${created.id}/stop`, { method: 'POST', token: t.adminToken });
      await waitFor(async () => events.some(e => e.data.status === 'STOPPED'), 'STOPPED event');
      expect((await t.api(`/api/v1/notebooks/${created.id}`, { method: 'DELETE', token: t.adminToken })).status).toBe(204);
      await pump;
      expect(events.at(-1)!.event).toBe('deleted');
      const statuses = events.filter(e => e.event === 'status').map(e => e.data.status);
      expect(statuses.indexOf('RUNNING')).toBeLessThan(statuses.indexOf('STOPPED'));
    });

    it("should answer 404 for another user's instance", async () => {
      const created = (await (await t.api('/api/v1/notebooks', { method: 'POST', token: t.adminToken, json: { name: 'sse2', image: IMAGE } })).json()) as NotebookInstance;
      const eve = await t.user('eve');
      expect((await t.api(`/api/v1/notebooks/${created.id}/events`, { token: eve.token })).status).toBe(404);
    });
  });
});
