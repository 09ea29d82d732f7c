/**
 * Runs the built gateway (`server/dist/main.cjs`) as a real process on a free port with a
 * temporary data dir, and signs in as its first administrator.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { apiFetch, type ApiFetch } from '../../server/test/utils/http';
import type { NotebookInstance } from '../../server/src/api/types';
import { isAlive, processesMatching } from './processes';

export const ROOT = resolve(__dirname, '..', '..');

export interface GatewayProcess {
  url: string;
  dataDir: string;
  process: ChildProcess;
  adminToken: string;
  output: () => string;
  api: ApiFetch;
  /** SIGTERM and wait; the data dir is removed unless `keepData`. */
  stop(opts?: { keepData?: boolean }): Promise<void>;
}

export async function startGatewayProcess(env: Record<string, string> = {}, opts: { dataDir?: string } = {}): Promise<GatewayProcess> {
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'nbg-int-')));
  const password = 'integration-admin-pw';
  const child = spawn(process.execPath, [join(ROOT, 'server/dist/main.cjs')], {
    env: {
      ...process.env,
      NBG_PORT: '0',
      NBG_DATA_DIR: dataDir,
      NBG_ADMIN_PASSWORD: password,
      NBG_LOG_LEVEL: 'warn',
      NBG_RUNTIME: 'local',
      // Never the default 2222: suites run gateways side by side.
      NBG_SSH_PORT: '0',
      ...env
    },
    stdio: ['ignore', 'pipe', 'pipe']
  });
  let out = '';
  child.stdout!.on('data', d => (out += d));
  child.stderr!.on('data', d => (out += d));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start in 30 s:\n${out}`)), 30_000);
    const onData = (): void => {
      const m = /nbgateway is up at (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', code => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code}:\n${out}`));
    });
  });
  const api = apiFetch(url);
  const login = await api('/api/v1/auth/login', { method: 'POST', json: { username: 'admin', password } });
  if (!login.ok) throw new Error(`sign-in failed: ${login.status} ${await login.text()}`);
  const adminToken = ((await login.json()) as { token: string }).token;
  return {
    url, dataDir, process: child, adminToken, api,
    output: () => out,
    async stop({ keepData = false } = {}) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise(r => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      if (keepData) return;
      // Local-process instances outlive their gateway by design; a finished test takes them down.
      await stopLocalAgents(dataDir);
      await rm(dataDir, { recursive: true, force: true });
    }
  };
}

/**
 * Stops the agents (and with them their kernels) of local-process instances under a data dir:
 * SIGTERM to each agent's process group, then SIGKILL after 5 s.
 */
export async function stopLocalAgents(dataDir: string): Promise<void> {
  const agents = await processesMatching(`${join(dataDir, 'instances')}/`);
  const signal = (pid: number, sig: NodeJS.Signals): void => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* gone */
      }
    }
  };
  for (const a of agents) signal(a.pid, 'SIGTERM');
  const deadline = Date.now() + 5_000;
  for (const a of agents) {
    while ((await isAlive(a.pid)) && Date.now() < deadline) await new Promise(r => setTimeout(r, 50));
    if (await isAlive(a.pid)) signal(a.pid, 'SIGKILL');
  }
}

/** Polls until `fn` returns a truthy value or the deadline passes. */
export async function waitFor<T>(fn: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise(r => setTimeout(r, everyMs));
  }
}

/** An instance as the REST API shows it to the admin. */
export async function instanceOf(gw: GatewayProcess, id: string): Promise<NotebookInstance> {
  const res = await gw.api(`/api/v1/notebooks/${id}`, { token: gw.adminToken });
  if (!res.ok) throw new Error(`GET notebook ${id}: ${res.status} ${await res.text()}`);
  return (await res.json()) as NotebookInstance;
}

/**
 * Waits until an instance is in `want`. By default an instance that turns ERROR while another
 * state is awaited fails at once with its reason; `errorIsFinal: false` keeps waiting (a
 * fault test that expects ERROR on the way).
 */
export function waitForInstance(gw: GatewayProcess, id: string, want: string, timeoutMs = 120_000, { errorIsFinal = true } = {}): Promise<NotebookInstance> {
  return waitFor(async () => {
    const s = await instanceOf(gw, id);
    if (errorIsFinal && s.status === 'ERROR' && want !== 'ERROR') throw new Error(`instance ${id} failed: ${s.statusReason}`);
    return s.status === want ? s : undefined;
  }, `${id} ${want}`, timeoutMs);
}
