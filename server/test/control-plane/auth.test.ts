/**
 * Sign-in and sessions: cookies with CSRF protection, rate limiting, password change, and
 * user management by administrators.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeDriver } from '../../src/drivers/fake/fake-driver';
import type { Page, UserInfo } from '../../src/api/types';
import { startTestApp, type TestApp } from '../utils/app';

const IMAGE = 'python3.11-cpu-debian12';

function cookiesOf(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(';');
    const eq = pair!.indexOf('=');
    out[pair!.slice(0, eq)] = pair!.slice(eq + 1);
  }
  return out;
}

describe('sign-in and sessions', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.dispose();
    t = undefined;
  });

  async function code(res: Response): Promise<string> {
    return ((await res.json()) as { code: string }).code;
  }

  describe('browser sessions', () => {
    it('should set an httpOnly SameSite session cookie and a readable _xsrf cookie', async () => {
      t = await startTestApp({ driver: new FakeDriver() });
      const res = await t.api('/api/v1/auth/login', { method: 'POST', json: { username: 'admin', password: 'admin-password-for-tests' } });
      const raw = res.headers.getSetCookie();
      const session = raw.find(c => c.startsWith('nbg_session='))!;
      const xsrf = raw.find(c => c.startsWith('_xsrf='))!;
      expect(session).toMatch(/HttpOnly/);
      expect(session).toMatch(/SameSite=Lax/);
      expect(xsrf).not.toMatch(/HttpOnly/);
      expect(xsrf).toMatch(/SameSite=Lax/);
    });

    it('should refuse cookie-authenticated writes without the X-XSRFToken header or from another site', async () => {
      t = await startTestApp({ driver: new FakeDriver() });
      const login = await t.api('/api/v1/auth/login', { method: 'POST', json: { username: 'admin', password: 'admin-password-for-tests' } });
      const c = cookiesOf(login);
      const cookie = `nbg_session=${c.nbg_session}; _xsrf=${c._xsrf}`;
      const body = { name: 'csrf', image: IMAGE };
      // Reads need no header.
      expect((await t.api('/api/v1/notebooks', { headers: { cookie } })).status).toBe(200);
      const bare = await t.api('/api/v1/notebooks', { method: 'POST', headers: { cookie }, json: body });
      expect(bare.status).toBe(403);
      expect(await code(bare)).toBe('NB_ERR_CSRF');
      const wrong = await t.api('/api/v1/notebooks', { method: 'POST', headers: { cookie, 'X-XSRFToken': 'guess' }, json: body });
      expect(await code(wrong)).toBe('NB_ERR_CSRF');
      const cross = await t.api('/api/v1/notebooks', { method: 'POST', headers: { cookie, 'X-XSRFToken': c._xsrf!, origin: 'https://evil.example' }, json: body });
      expect(cross.status).toBe(403);
      expect(await code(cross)).toBe('NB_ERR_FORBIDDEN');
      const ok = await t.api('/api/v1/notebooks', { method: 'POST', headers: { cookie, 'X-XSRFToken': c._xsrf! }, json: body });
      expect(ok.status).toBe(201);
      // Bearer clients are not affected.
      expect((await t.api('/api/v1/notebooks', { method: 'POST', token: t.adminToken, json: { ...body, name: 'csrf2' } })).status).toBe(201);
      // /me hands the _xsrf cookie out again to a session that lost it.
      const me = await t.api('/api/v1/me', { headers: { cookie: `nbg_session=${c.nbg_session}` } });
      expect(cookiesOf(me)._xsrf).toBe(c._xsrf);
    });

    it('should end the session on sign-out', async () => {
      t = await startTestApp({ driver: new FakeDriver() });
      const login = (await (await t.api('/api/v1/auth/login', { method: 'POST', json: { username: 'admin', password: 'admin-password-for-tests' } })).json()) as { token: string };
      expect((await t.api('/api/v1/me', { token: login.token })).status).toBe(200);
      expect((await t.api('/api/v1/auth/logout', { method: 'POST', token: login.token })).status).toBe(204);
      expect((await t.api('/api/v1/me', { token: login.token })).status).toBe(401);
    });
  });

  describe('rate limiting', () => {
    it('should refuse sign-ins after too many failures, even with the right password, and say when to retry', async () => {
      t = await startTestApp({ driver: new FakeDriver(), config: { loginMaxFailures: 3, loginWindowSeconds: 60 } });
      await t.user('carol');
      for (let i = 0; i < 3; i++) {
        const r = await t.api('/api/v1/auth/login', { method: 'POST', json: { username: 'carol', password: 'wrong-password' } });
        expect(r.status).toBe(401);
      }
      const limited = await t.api('/api/v1/auth/login', { method: 'POST', json: { username: 'carol', password: 'carol-password' } });
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await code(limited)).toBe('NB_ERR_RATE_LIMITED');
      // Another user is not locked out by Carol's failures.
      expect((await t.api('/api/v1/auth/login', { method: 'POST', json: { username: 'admin', password: 'admin-password-for-tests' } })).status).toBe(200);
      // Failures are audited.
      const trail = (await (await t.api('/api/v1/audit?action=login&result=failure', { token: t.adminToken })).json()) as Page<unknown>;
      expect(trail.total).toBe(3);
    });
  });

  describe('password change', () => {
    it('should need the current password and sign out the other sessions', async () => {
      t = await startTestApp({ driver: new FakeDriver() });
      const dave = await t.user('dave');
      const other = (await (await t.api('/api/v1/auth/login', { method: 'POST', json: { username: 'dave', password: 'dave-password' } })).json()) as { token: string };
      const wrong = await t.api('/api/v1/auth/password', { method: 'POST', token: dave.token, json: { currentPassword: 'nope', newPassword: 'a-new-password' } });
      expect(wrong.status).toBe(403);
      expect(await code(wrong)).toBe('NB_ERR_PASSWORD_WRONG');
      const short = await t.api('/api/v1/auth/password', { method: 'POST', token: dave.token, json: { currentPassword: 'dave-password', newPassword: 'short' } });
      expect(short.status).toBe(400);
      const ok = await t.api('/api/v1/auth/password', { method: 'POST', token: dave.token, json: { currentPassword: 'dave-password', newPassword: 'a-new-password' } });
      expect(ok.status).toBe(204);
      expect((await t.api('/api/v1/me', { token: dave.token })).status).toBe(200);
      expect((await t.api('/api/v1/me', { token: other.token })).status).toBe(401);
      expect((await t.api('/api/v1/auth/login', { method: 'POST', json: { username: 'dave', password: 'a-new-password' } })).status).toBe(200);
    });
  });

  describe('user management', () => {
    it('should let admins create, promote, disable and reset users, and keep one admin', async () => {
      t = await startTestApp({ driver: new FakeDriver() });
      const created = await t.api('/api/v1/users', { method: 'POST', token: t.adminToken, json: { name: 'erin', password: 'erin-password' } });
      expect(created.status).toBe(201);
      const erin = (await created.json()) as UserInfo;
      expect(erin).toMatchObject({ name: 'erin', role: 'user', disabled: false });
      expect((await t.api('/api/v1/users', { method: 'POST', token: t.adminToken, json: { name: 'erin', password: 'erin-password' } })).status).toBe(409);
      expect(await code(await t.api('/api/v1/users', { method: 'POST', token: t.adminToken, json: { name: 'Bad Name', password: 'erin-password' } }))).toBe('NB_ERR_VALIDATION');
      const login = (await (await t.api('/api/v1/auth/login', { method: 'POST', json: { username: 'erin', password: 'erin-password' } })).json()) as { token: string };

      // Users cannot manage users, but can read themselves.
      expect(await code(await t.api('/api/v1/users', { token: login.token }))).toBe('NB_ERR_ACCESS_DENIED');
      expect((await t.api('/api/v1/users/erin', { token: login.token })).status).toBe(200);
      expect(await code(await t.api('/api/v1/users/admin', { token: login.token }))).toBe('NB_ERR_USER_NOT_FOUND');

      const list = (await (await t.api('/api/v1/users', { token: t.adminToken })).json()) as Page<UserInfo>;
      expect(list.items.map(u => u.name)).toEqual(['admin', 'erin']);

      // The only admin cannot demote or disable themself.
      const last = await t.api('/api/v1/users/admin', { method: 'PATCH', token: t.adminToken, json: { role: 'user' } });
      expect(last.status).toBe(409);
      expect(await code(last)).toBe('NB_ERR_LAST_ADMIN');
      expect(((await (await t.api(`/api/v1/users/${erin.id}`, { method: 'PATCH', token: t.adminToken, json: { role: 'admin' } })).json()) as UserInfo).role).toBe('admin');
      expect((await t.api('/api/v1/users', { token: login.token })).status).toBe(200);

      // Disabling signs the user out everywhere.
      expect((await t.api('/api/v1/users/erin', { method: 'PATCH', token: t.adminToken, json: { disabled: true } })).status).toBe(200);
      expect((await t.api('/api/v1/me', { token: login.token })).status).toBe(401);
      expect((await t.api('/api/v1/auth/login', { method: 'POST', json: { username: 'erin', password: 'erin-password' } })).status).toBe(401);
      await t.api('/api/v1/users/erin', { method: 'PATCH', token: t.adminToken, json: { disabled: false, password: 'another-password' } });
      expect((await t.api('/api/v1/auth/login', { method: 'POST', json: { username: 'erin', password: 'another-password' } })).status).toBe(200);
      const trail = (await (await t.api('/api/v1/audit?action=createUser,updateUser', { token: t.adminToken })).json()) as Page<unknown>;
      expect(trail.total).toBe(4);
    });
  });
});

describe('TokenHousekeeping', () => {
  it('should remove tokens that expired more than a week ago and keep the rest', async () => {
    const { openDatabase } = await import('../../src/db/database');
    const { migrate } = await import('../../src/db/migrations');
    const { UserStore } = await import('../../src/auth/user-store');
    const { TokenHousekeeping } = await import('../../src/auth/token-housekeeping');
    const { createLogger } = await import('../../src/logger');
    const db = await openDatabase('sqlite::memory:');
    await migrate(db);
    const users = new UserStore(db);
    const u = await users.create('frank', 'user', null);
    const old = await users.issueToken(u.id, 'session', 'old', Date.now() - 8 * 86_400_000);
    const recent = await users.issueToken(u.id, 'session', 'recent', Date.now() - 86_400_000);
    const live = await users.issueToken(u.id, 'api', 'live', null);
    const hk = new TokenHousekeeping(users, createLogger('silent'));
    hk.start();
    await waitForCondition(async () => (await users.resolveToken(old.token)) === undefined);
    expect(await users.resolveToken(recent.token)).toBe('expired');
    expect(await users.resolveToken(live.token)).toMatchObject({ kind: 'api' });
    hk.dispose();
    await db.dispose();
  });
});

async function waitForCondition(fn: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100 && !(await fn()); i++) await new Promise(r => setTimeout(r, 10));
  expect(await fn()).toBe(true);
}
