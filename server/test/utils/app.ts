/**
 * An in-process gateway on port 0 with a temporary data dir (STYLE.md §24).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { apiFetch, type ApiFetch } from './http';
import { createApp, type App } from '../../src/app';
import { loadConfig, type Config } from '../../src/config';
import { createLogger } from '../../src/logger';
import type { IRuntimeDriver } from '../../src/drivers/driver';

export const INSTALL_ROOT = resolve(__dirname, '..', '..', '..');
export const ADMIN_PASSWORD = 'admin-password-for-tests';

export interface TestApp {
  app: App;
  url: string;
  config: Config;
  dataDir: string;
  /** Session token of the first admin. */
  adminToken: string;
  /** Creates a user and returns a session token for them. */
  user(name: string, role?: 'admin' | 'user'): Promise<{ id: string; token: string }>;
  /** fetch against the gateway with a bearer token. */
  api: ApiFetch;
  dispose(): Promise<void>;
}

export async function startTestApp(opts: { driver?: IRuntimeDriver; config?: Partial<Config> } = {}): Promise<TestApp> {
  const dataDir = await mkdtemp(join(tmpdir(), 'nbg-test-'));
  const config = loadConfig(INSTALL_ROOT, [], {}, {
    port: 0, dataDir, databaseUrl: `sqlite:${join(dataDir, 'state.db')}`, adminPassword: ADMIN_PASSWORD,
    runtime: 'local', logLevel: 'silent', pollIntervalMs: 200, stopTimeoutMs: 3_000, sshPort: 0, ...opts.config
  });
  const app = await createApp(config, { log: createLogger('silent'), version: 'test', driver: opts.driver });
  const { url } = await app.listen();
  const api = apiFetch(url);
  const login = async (name: string, password: string): Promise<string> => {
    const res = await api('/api/v1/auth/login', { method: 'POST', json: { username: name, password } });
    if (!res.ok) throw new Error(`login failed: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { token: string }).token;
  };
  const adminToken = await login('admin', ADMIN_PASSWORD);
  return {
    app, url, config, dataDir, adminToken, api,
    async user(name, role = 'user') {
      const { hashPassword } = await import('../../src/auth/passwords');
      const u = await app.users.create(name, role, await hashPassword(`${name}-password`));
      return { id: u.id, token: await login(name, `${name}-password`) };
    },
    async dispose() {
      await app.dispose();
      await rm(dataDir, { recursive: true, force: true });
    }
  };
}

/** Polls until `fn` returns a truthy value or the deadline passes. */
export async function waitFor<T>(fn: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise(r => setTimeout(r, everyMs));
  }
}
