/**
 * Abuse of the gateway's front door (issue 11): sign-in brute force, also in parallel; session
 * cookies used from another site (writes, WebSocket handshakes, cross-origin reads); slow
 * clients (slowloris) holding connections open with headers or bodies that never finish.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import WebSocket from 'ws';
import { FakeDriver } from '../../src/drivers/fake/fake-driver';
import { startTestApp, waitFor, type TestApp } from '../utils/app';
import { startEchoAgent, type EchoAgent } from '../utils/echo-agent';
import { wsHandshake } from '../utils/ws';
import { rawRequest } from './raw-http';

const IMAGE = 'python3.11-cpu-debian12';

describe('abuse of the front door', () => {
  let t: TestApp | undefined;
  let echo: EchoAgent | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await t?.dispose();
    await echo?.dispose();
    t = echo = undefined;
  });

  const login = (app: TestApp, username: string, password: string, from?: string): Promise<Response> =>
    app.api('/api/v1/auth/login', { method: 'POST', json: { username, password }, ...(from ? { headers: { 'x-forwarded-for': from } } : {}) });

  describe('sign-in brute force', () => {
    it('should evaluate at most loginMaxFailures guesses per name when they arrive all at once', async () => {
      t = await startTestApp({ driver: new FakeDriver(), config: { loginMaxFailures: 5 } });
      await t.user('alice');
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => login(t!, 'alice', `guess-${i}`)));
      const statuses = answers.map(r => r.status);
      // A guess is only worth something if it was checked: 401 means it was.
      expect(statuses.filter(s => s === 401).length).toBeLessThanOrEqual(5);
      expect(statuses.filter(s => s === 429).length).toBeGreaterThanOrEqual(35);
      const locked = await login(t, 'alice', 'alice-password');
      expect(locked.status).toBe(429);
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    });

    it('should hold the limit on PostgreSQL too, where several replicas claim at once', async () => {
      const { startPostgres } = await import('../utils/postgres');
      const pg = await startPostgres();
      try {
        t = await startTestApp({ driver: new FakeDriver(), config: { loginMaxFailures: 5, databaseUrl: await pg.createDatabase() } });
        await t.user('carol');
        const statuses = (await Promise.all(Array.from({ length: 30 }, (_, i) => login(t!, 'carol', `guess-${i}`)))).map(r => r.status);
        expect(statuses.filter(s => s === 401).length).toBeLessThanOrEqual(5);
        expect(statuses.filter(s => s === 401).length + statuses.filter(s => s === 429).length).toBe(30);
        // A good sign-in before the limit withdraws its own claim: it counts for nothing.
        await t.user('dave');
        for (let i = 0; i < 8; i++) expect((await login(t, 'dave', 'dave-password')).status).toBe(200);
      } finally {
        await t?.dispose();
        t = undefined;
        await pg.stop();
      }
    }, 60_000);

    it('should limit one address trying many names, and not lock out the names tried from elsewhere', async () => {
      t = await startTestApp({ driver: new FakeDriver(), config: { loginMaxFailures: 3, trustProxy: true } });
      await t.user('bob');
      const statuses: number[] = [];
      for (let i = 0; i < 14; i++) statuses.push((await login(t, `name${i}`, 'wrong-password', '203.0.113.9')).status);
      // 4 × 3 failures from one address, then every name is refused from it.
      expect(statuses.slice(0, 12).every(s => s === 401)).toBe(true);
      expect(statuses.slice(12)).toEqual([429, 429]);
      expect((await login(t, 'bob', 'bob-password', '203.0.113.9')).status).toBe(429);
      expect((await login(t, 'bob', 'bob-password', '198.51.100.7')).status).toBe(200);
    });
  });

  describe('session cookies from another site', () => {
    async function browserSession(app: TestApp): Promise<{ cookie: string; xsrf: string }> {
      const res = await login(app, 'admin', 'admin-password-for-tests');
      const jar: Record<string, string> = {};
      for (const c of res.headers.getSetCookie()) {
        const [pair] = c.split(';');
        jar[pair!.slice(0, pair!.indexOf('='))] = pair!.slice(pair!.indexOf('=') + 1);
      }
      return { cookie: `nbg_session=${jar.nbg_session}; _xsrf=${jar._xsrf}`, xsrf: jar._xsrf! };
    }

    it('should refuse cookie-authenticated writes from any other origin, even with the _xsrf token', async () => {
      t = await startTestApp({ driver: new FakeDriver() });
      const { cookie, xsrf } = await browserSession(t);
      const host = new URL(t.url).host;
      const origins: [string, string][] = [
        ['origin', 'https://evil.example'], ['origin', 'null'], ['origin', `http://${host}.evil.example`], ['origin', `https://${host}`.replace(/:\d+$/, '')],
        ['referer', 'https://evil.example/page'], ['origin', 'not a url']
      ];
      for (const [header, value] of origins) {
        for (const [method, path, json] of [['POST', '/api/v1/notebooks', { name: 'x', image: IMAGE }], ['POST', '/api/v1/tokens', { name: 'stolen' }], ['DELETE', '/api/v1/tokens/abc', undefined]] as const) {
          const res = await t.api(path, { method, headers: { cookie, 'X-XSRFToken': xsrf, [header]: value }, ...(json ? { json } : {}) });
          expect(res.status, `${method} ${path} with ${header}: ${value}`).toBe(403);
          expect(((await res.json()) as { code: string }).code).toBe('NB_ERR_FORBIDDEN');
        }
      }
      const none = await t.api('/api/v1/tokens', { method: 'GET', headers: { cookie } });
      expect(((await none.json()) as { items: unknown[] }).items).toEqual([]);
    });

    it('should refuse WebSocket handshakes with the cookie from another origin before reaching the instance', async () => {
      echo = await startEchoAgent();
      t = await startTestApp({ driver: new FakeDriver({ endpoint: echo.endpoint }) });
      const created = await t.api('/api/v1/notebooks', { method: 'POST', token: t.adminToken, json: { name: 'ws', image: IMAGE } });
      const id = ((await created.json()) as { id: string }).id;
      await waitFor(async () => ((await (await t!.api(`/api/v1/notebooks/${id}`, { token: t!.adminToken })).json()) as { status: string }).status === 'RUNNING', 'RUNNING');
      const { cookie } = await browserSession(t);
      const url = `${t.url.replace(/^http/, 'ws')}/notebooks/${id}/api/kernels/k1/channels`;
      const seenBefore = echo.seen.length;
      for (const origin of ['https://evil.example', 'null', 'http://127.0.0.1.evil.example']) {
        expect((await wsHandshake(url, { cookie, origin })).status, origin).toBe(403);
      }
      expect(echo.seen.length).toBe(seenBefore);
      // The same handshake from the gateway's own page works.
      expect((await wsHandshake(url, { cookie, origin: t.url })).status).toBe(101);
    });

    it('should not let another origin read answers: no CORS grants, even to preflights', async () => {
      t = await startTestApp({ driver: new FakeDriver() });
      const { cookie } = await browserSession(t);
      const pre = await t.api('/api/v1/me', { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
      expect(pre.headers.get('access-control-allow-origin')).toBeNull();
      expect(pre.headers.get('access-control-allow-credentials')).toBeNull();
      const read = await t.api('/api/v1/me', { headers: { cookie, origin: 'https://evil.example' } });
      expect(read.headers.get('access-control-allow-origin')).toBeNull();
    });
  });

  describe('slow clients (slowloris)', () => {
    /** Opens a connection from `from` that sends a request line and then a header byte now and then. */
    function slowHeaders(port: number, from = '127.0.0.1'): Promise<{ socket: Socket; closed: Promise<string> }> {
      return new Promise((resolve, reject) => {
        const socket = connect({ port, host: '127.0.0.1', localAddress: from });
        sockets.push(socket);
        let got = '';
        const closed = new Promise<string>(r => socket.once('close', () => r(got)));
        socket.on('data', d => (got += d));
        socket.on('error', () => undefined);
        socket.once('connect', () => {
          socket.write('GET /api/v1/health HTTP/1.1\r\nHost: x\r\n');
          const timer = setInterval(() => (socket.writable ? socket.write('X') : clearInterval(timer)), 300);
          socket.once('close', () => clearInterval(timer));
          resolve({ socket, closed });
        });
        socket.once('error', reject);
      });
    }

    const health = async (port: number, from: string): Promise<number> => {
      const began = Date.now();
      const res = await new Promise<string>((resolve, reject) => {
        const s = connect({ port, host: '127.0.0.1', localAddress: from }, () => s.write('GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
        let got = '';
        s.on('data', d => (got += d));
        s.on('close', () => resolve(got));
        s.on('error', reject);
      });
      expect(res).toMatch(/^HTTP\/1\.1 200/);
      return Date.now() - began;
    };

    it('should cap connections that hold their headers back per address, cut them at the headers timeout, and keep answering others', async () => {
      t = await startTestApp({ driver: new FakeDriver(), config: { httpHeadersTimeoutMs: 4_000, httpMaxPendingPerAddress: 40 } });
      const port = Number(new URL(t.url).port);
      const first = await Promise.all(Array.from({ length: 60 }, () => slowHeaders(port)));
      // Past the grace period (half the headers timeout) they count as slow: more are refused at once.
      await new Promise(r => setTimeout(r, 2_500));
      const second = await Promise.all(Array.from({ length: 100 }, () => slowHeaders(port)));
      await new Promise(r => setTimeout(r, 200));
      expect(second.filter(s => !s.socket.destroyed)).toHaveLength(0);
      // Another address is served at once during the attack.
      expect(await health(port, '127.0.0.2')).toBeLessThan(1_000);
      // After the headers timeout (checked every second), every slow connection is gone with a 408.
      const answers = await Promise.race([Promise.all(first.map(s => s.closed)), new Promise<never>((_, r) => setTimeout(() => r(new Error('slow connections still open after 10 s')), 10_000))]);
      expect(answers.filter(a => a.includes('408')).length).toBeGreaterThan(0);
      expect(answers.filter(a => a.includes('408')).every(a => a.includes('NB_ERR_REQUEST_TIMEOUT'))).toBe(true);
      // And the address that attacked can come back once its connections are gone.
      expect(await health(port, '127.0.0.1')).toBeLessThan(1_000);
    });

    it('should not refuse a burst of fresh connections from one address (a lab reconnecting its kernels, an office NAT)', async () => {
      t = await startTestApp({ driver: new FakeDriver(), config: { httpMaxPendingPerAddress: 40 } });
      const port = Number(new URL(t.url).port);
      const answers = await Promise.all(Array.from({ length: 250 }, () => rawRequest(port, { method: 'GET', path: '/api/v1/health' }, 30_000)));
      expect(answers.filter(a => a.status === 200)).toHaveLength(250);
    });

    it('should cut a request whose body trickles in after the request timeout with 408', async () => {
      t = await startTestApp({ driver: new FakeDriver(), config: { httpRequestTimeoutMs: 2_000 } });
      const port = Number(new URL(t.url).port);
      const began = Date.now();
      const answer = await new Promise<string>(resolve => {
        const s = connect(port, '127.0.0.1', () => {
          s.write('POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
          const timer = setInterval(() => (s.writable ? s.write(' ') : clearInterval(timer)), 200);
          s.once('close', () => clearInterval(timer));
        });
        sockets.push(s);
        let got = '';
        s.on('data', d => (got += d));
        s.on('error', () => undefined);
        s.on('close', () => resolve(got));
      });
      expect(Date.now() - began).toBeLessThan(5_000);
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
      expect(answer).toContain('NB_ERR_REQUEST_TIMEOUT');
    });

    it('should not count keep-alive requests and open WebSockets against the cap', async () => {
      echo = await startEchoAgent();
      t = await startTestApp({ driver: new FakeDriver({ endpoint: echo.endpoint }), config: { httpMaxPendingPerAddress: 5 } });
      const created = await t.api('/api/v1/notebooks', { method: 'POST', token: t.adminToken, json: { name: 'many', image: IMAGE } });
      const id = ((await created.json()) as { id: string }).id;
      await waitFor(async () => ((await (await t!.api(`/api/v1/notebooks/${id}`, { token: t!.adminToken })).json()) as { status: string }).status === 'RUNNING', 'RUNNING');
      const url = `${t.url.replace(/^http/, 'ws')}/notebooks/${id}/api/kernels/k/channels?token=${t.adminToken}`;
      const open: WebSocket[] = [];
      try {
        for (let i = 0; i < 30; i++) {
          const ws = new WebSocket(url);
          await new Promise<void>((resolve, reject) => {
            ws.once('open', () => resolve());
            ws.once('error', reject);
          });
          open.push(ws);
        }
        expect(open.length).toBe(30);
        const port = Number(new URL(t.url).port);
        const res = await rawRequest(port, { method: 'GET', path: '/api/v1/health' });
        expect(res.status).toBe(200);
      } finally {
        for (const ws of open) ws.terminate();
      }
    });
  });
});
