/**
 * Hostile input against the gateway's REST API (issue 11), property-based with fast-check:
 * random names, path segments (`..`, NUL, very long, Unicode, broken percent-encoding), JSON
 * bodies of any shape, raw bytes and headers, on every route of the OpenAPI document. The
 * gateway must answer each with a 4xx that carries a catalogue code and a message, never a
 * 5xx, and must not store what its rules forbid.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FakeDriver } from '../../src/drivers/fake/fake-driver';
import { apiDocument, HTTP_METHODS } from '../../src/api/openapi';
import { Errors } from '../../src/errors';
import { startTestApp, type TestApp } from '../utils/app';
import { startEchoAgent, type EchoAgent } from '../utils/echo-agent';
import { rawRequest, type RawResponse } from './raw-http';
import { encodeSegment, nastyJson, nastyString, pathSegment, plausibleBody } from './arbitraries';

const IMAGE = 'python3.11-cpu-debian12';
const CODES = new Set(Object.values(Errors).map(e => e.code));
/** SPEC §1: 1–20 of letters, digits, `_` and `-`. */
const NAME_RULE = /^[A-Za-z0-9_-]{1,20}$/;
/** Routes that stream until the client leaves (SSE); checked separately with a short read. */
const STREAMS = /\/events$/;
/** Routes that end the caller's own session; a fuzz run must not sign itself out. */
const SELF_ENDING = new Set(['POST /api/v1/auth/logout']);

describe('hostile input: REST API', () => {
  let t: TestApp;
  let echo: EchoAgent;
  let port: number;
  let user: { id: string; token: string };
  const known: string[] = [];

  beforeAll(async () => {
    echo = await startEchoAgent();
    t = await startTestApp({ driver: new FakeDriver({ endpoint: echo.endpoint }), config: { instanceQuota: 10_000, loginMaxFailures: 1_000 } });
    port = Number(new URL(t.url).port);
    user = await t.user('mallory');
    const other = await t.user('victim');
    for (const [token, name] of [[user.token, 'mine'], [other.token, 'theirs']] as const) {
      const res = await t.api('/api/v1/notebooks', { method: 'POST', token, json: { name, image: IMAGE } });
      expect(res.status).toBe(201);
      known.push(((await res.json()) as { id: string }).id);
    }
    known.push('mallory', 'victim', 'admin', 'V0001', 'python3.11-cpu-debian12', 'cpu.2u8g');
  });

  afterAll(async () => {
    await t?.dispose();
    await echo?.dispose();
  });

  /** The invariant: an answer, below 500, and for API errors the catalogue body. */
  function check(where: string, res: RawResponse): void {
    expect(res.status, `${where}: no answer`).toBeGreaterThan(0);
    expect(res.status, `${where} → ${res.status} ${res.body.slice(0, 400)}`).toBeLessThan(500);
    if (res.status >= 400 && /json/.test(res.headers['content-type'] ?? '') && !/\/lab\/api\//.test(where)) {
      const body = JSON.parse(res.body) as { code?: unknown; message?: unknown; error?: unknown };
      expect(CODES.has(String(body.code)), `${where}: unknown code ${String(body.code)}`).toBe(true);
      expect(typeof body.message === 'string' && body.message.length > 0, `${where}: no message`).toBe(true);
    }
  }

  const bearer = (token: string): [string, string] => ['Authorization', `Bearer ${token}`];
  const json = (v: unknown): string => JSON.stringify(v);

  it('should refuse hostile instance creates with a 4xx and store only names SPEC §1 allows', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          name: fc.oneof(nastyString(30), nastyJson),
          image: fc.oneof(fc.constant(IMAGE), nastyString(), nastyJson),
          description: fc.oneof(nastyString(300), nastyJson),
          flavor: fc.oneof(fc.constant('cpu.2u8g'), nastyString(), nastyJson),
          storage: fc.oneof(fc.record({ type: fc.oneof(fc.constantFrom('local', 'obs'), nastyString()), sizeGB: fc.oneof(fc.integer(), nastyJson) }, { requiredKeys: [] }), nastyJson),
          autoStop: fc.oneof(fc.record({ timingHours: nastyJson, idleMinutes: nastyJson }, { requiredKeys: [] }), nastyJson),
          ssh: fc.oneof(fc.record({ enabled: nastyJson, allowList: fc.array(nastyString(), { maxLength: 3 }) }, { requiredKeys: [] }), nastyJson)
        }, { requiredKeys: [] }),
        async body => {
          const res = await rawRequest(port, { method: 'POST', path: '/api/v1/notebooks', headers: [bearer(user.token), ['Content-Type', 'application/json']], body: json(body) });
          check(`POST /api/v1/notebooks ${json(body).slice(0, 200)}`, res);
          if (res.status === 201) {
            const created = JSON.parse(res.body) as { name: string; description: string };
            expect(created.name).toMatch(NAME_RULE);
            expect([...created.description].length).toBeLessThanOrEqual(256);
            expect(created.description).not.toMatch(/[\u0000-\u001f\u007f]/);
          }
        }
      ),
      { numRuns: 300 }
    );
    // Whatever got through is in the database as the rules say.
    const rows = await t.app.db.all<{ name: string; description: string }>('SELECT name, description FROM instances');
    for (const r of rows) {
      expect(r.name).toMatch(NAME_RULE);
      expect([...r.description].length).toBeLessThanOrEqual(256);
    }
  }, 120_000);

  it('should answer every documented route with hostile path parameters, queries and bodies with a 4xx or success, never a 5xx', async () => {
    const { doc } = apiDocument();
    const routes: { method: string; path: string }[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const m of HTTP_METHODS) {
        if (!item[m] || m === 'head' || m === 'options') continue;
        const method = m.toUpperCase();
        if (SELF_ENDING.has(`${method} ${path}`) || (method === 'GET' && STREAMS.test(path))) continue;
        routes.push({ method, path });
      }
    }
    expect(routes.length).toBeGreaterThan(60);
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        fc.array(pathSegment(known), { minLength: 4, maxLength: 4 }),
        fc.option(fc.array(fc.tuple(fc.constantFrom('limit', 'offset', 'all', 'action', 'since', 'until', 'task', 'offset', 'follow', 'path', 'prefix', 'x'), nastyString(20).map(encodeSegment)), { maxLength: 3 }), { nil: undefined }),
        fc.oneof(plausibleBody, nastyJson),
        fc.constantFrom('user', 'admin', 'none'),
        async (route, segments, query, body, who) => {
          let i = 0;
          const path = route.path.replace(/\{[^}]+\}/g, () => segments[i++ % segments.length]!) + (query ? `?${query.map(([k, v]) => `${k}=${v}`).join('&')}` : '');
          const headers: [string, string][] = [['Content-Type', 'application/json']];
          if (who !== 'none') headers.push(bearer(who === 'admin' ? t.adminToken : user.token));
          const res = await rawRequest(port, { method: route.method, path, headers, ...(route.method === 'GET' || route.method === 'DELETE' ? {} : { body: json(body) }) });
          check(`${route.method} ${path.slice(0, 300)} as ${who} with ${json(body).slice(0, 200)}`, res);
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        }
      ),
      { numRuns: 1_500 }
    );
    // The runs reached handlers, not only the sign-in check: successes and several refusals.
    const count = (f: (s: number) => boolean): number => [...statuses].filter(([s]) => f(s)).reduce((n, [, c]) => n + c, 0);
    expect(count(s => s < 300)).toBeGreaterThan(20);
    expect(count(s => s === 400)).toBeGreaterThan(100);
    expect(count(s => s === 404)).toBeGreaterThan(100);
  }, 300_000);

  it('should refuse raw hostile requests (broken bodies, content types, encodings, sizes) with a 4xx', async () => {
    const bodies = fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map(b => Buffer.from(b)),
      fc.constantFrom(
        Buffer.from('{'), Buffer.from('{"name": "a", "image": '), Buffer.from('[' .repeat(10_000)), Buffer.from('{"a":'.repeat(5_000)),
        Buffer.from([0xff, 0xfe, 0x7b, 0x7d]), Buffer.from('\u0000'), Buffer.from('null'), Buffer.from('"just a string"'),
        Buffer.from('{"__proto__": {"role": "admin"}, "name": "proto", "image": "python3.11-cpu-debian12"}'),
        Buffer.alloc(2 << 20, 'a')
      )
    );
    const contentTypes = fc.constantFrom('application/json', 'application/json; charset=latin1', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '', 'application/json, text/html', 'a'.repeat(2_000));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/api/v1/notebooks', '/api/v1/auth/login', '/api/v1/tokens', '/api/v1/jobs', '/api/v1/ssh/keys', `/api/v1/notebooks/${known[0]}`, '/api/v1/users'),
        fc.constantFrom('POST', 'PATCH', 'PUT'),
        bodies,
        contentTypes,
        async (path, method, body, type) => {
          const headers: [string, string][] = [bearer(user.token)];
          if (type) headers.push(['Content-Type', type]);
          const res = await rawRequest(port, { method, path, headers, body });
          check(`${method} ${path} (${type}, ${body.length} bytes)`, res);
        }
      ),
      { numRuns: 300 }
    );
    // The prototype of nothing was polluted, and no role changed.
    expect(({} as Record<string, unknown>).role).toBeUndefined();
    const me = await t.api('/api/v1/me', { token: user.token });
    expect(((await me.json()) as { role: string }).role).toBe('user');
  }, 120_000);

  it('should answer hostile credentials, cookies and headers with 401/403, never a 5xx', async () => {
    const headerValue = nastyString(100).map(s => s.replace(/[\r\n\u0000]/g, ''));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/api/v1/me', '/api/v1/notebooks', `/api/v1/notebooks/${known[0]}`, `/notebooks/${known[0]}/api/kernels`, '/api/v1/tokens'),
        fc.constantFrom('GET', 'POST', 'DELETE'),
        fc.array(fc.tuple(
          fc.constantFrom('Authorization', 'Cookie', 'Origin', 'Referer', 'X-XSRFToken', 'X-Forwarded-For', 'Idempotency-Key', 'Accept', 'Accept-Encoding', 'X-Request-Id', 'Content-Type', 'If-None-Match', 'Range'),
          fc.oneof(headerValue, headerValue.map(v => `Bearer ${v}`), headerValue.map(v => `nbg_session=${v}`), fc.constant(`nbg_session=${user.token}`))
        ), { maxLength: 4 }),
        async (path, method, headers) => {
          const res = await rawRequest(port, { method, path, headers, ...(method === 'POST' ? { body: '{}' } : {}) });
          check(`${method} ${path} with ${json(headers).slice(0, 300)}`, res);
          if (!headers.some(([k, v]) => k === 'Cookie' && v.includes(user.token)) && !path.startsWith('/notebooks/')) {
            // Without a real credential nothing is served but the refusal.
            expect([401, 403, 404, 405, 400, 415, 429]).toContain(res.status);
          }
        }
      ),
      { numRuns: 400 }
    );
  }, 120_000);

  it('should close event streams of hostile ids at once with a 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(pathSegment(), async seg => {
        const res = await rawRequest(port, { method: 'GET', path: `/api/v1/notebooks/${seg}/events`, headers: [bearer(user.token)] }, 5_000);
        check(`GET /api/v1/notebooks/${seg.slice(0, 100)}/events`, res);
        expect(res.status).toBeGreaterThanOrEqual(400);
      }),
      { numRuns: 100 }
    );
  }, 60_000);
});
