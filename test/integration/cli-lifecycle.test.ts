/**
 * The `nbg` CLI drives a full lifecycle against a real gateway (issue 5): login, images,
 * create (with its progress), list, open, stop, start, logs, delete, logout; `--json`
 * output parses.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNbg, type CliRun } from '../utils/cli';
import { startGatewayProcess, type GatewayProcess } from '../utils/gateway-process';

describe('nbg CLI', () => {
  let gw: GatewayProcess;
  let home: string;

  beforeAll(async () => {
    gw = await startGatewayProcess();
    home = await mkdtemp(join(tmpdir(), 'nbg-cli-'));
  });
  afterAll(async () => {
    await gw?.stop();
    if (home) await rm(home, { recursive: true, force: true });
  });

  const nbg = (args: string[], input?: string): Promise<CliRun> => runNbg(args, { home, ...(input !== undefined ? { input } : {}) });

  async function json<T>(args: string[]): Promise<T> {
    const r = await nbg([...args, '--json']);
    expect(r.code, `nbg ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return JSON.parse(r.stdout) as T;
  }

  it('should run a notebook from create to delete', async () => {
    const notSignedIn = await nbg(['list']);
    expect(notSignedIn.code).toBe(3);
    expect(notSignedIn.stderr).toMatch(/nbg login/);

    const login = await nbg(['login', gw.url, '--username', 'admin', '--password-stdin'], 'integration-admin-pw\n');
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toMatch(/Signed in to .* as admin/);
    const cfg = join(home, '.config', 'nbg', 'config.json');
    expect((await stat(cfg)).mode & 0o777).toBe(0o600);
    expect((await json<{ name: string; role: string }>(['whoami'])).name).toBe('admin');

    const images = await json<{ name: string }[]>(['images']);
    expect(images.map(i => i.name)).toContain('python3.11-cpu-debian12');
    expect((await json<{ id: string }[]>(['flavors'])).map(f => f.id)).toContain('cpu.2u8g');

    const created = await nbg(['create', 'cli1', '--image', 'python3.11-cpu-debian12', '--idle', '30', '--json']);
    expect(created.code, created.stderr).toBe(0);
    const inst = JSON.parse(created.stdout) as { id: string; status: string; autoStop: { idleMinutes: number } };
    expect(inst.status).toBe('RUNNING');
    expect(inst.autoStop.idleMinutes).toBe(30);
    // Not a terminal here: the progress comes as lines on stderr, ending at RUNNING.
    expect(created.stderr).toMatch(/RUNNING 100%/);

    const listed = await json<{ id: string; name: string; status: string }[]>(['list']);
    expect(listed).toEqual([expect.objectContaining({ id: inst.id, name: 'cli1', status: 'RUNNING' })]);
    const text = await nbg(['list']);
    expect(text.stdout).toMatch(/^NAME\s+ID\s+STATUS/);
    expect(text.stdout).toContain(inst.id);

    const opened = await json<{ url: string }>(['open', 'cli1']);
    expect(opened.url).toBe(`${gw.url}/notebooks/${inst.id}/lab`);
    expect((await nbg(['open', inst.id])).stdout.trim()).toBe(opened.url);

    expect((await json<{ status: string }>(['stop', 'cli1'])).status).toBe('STOPPED');
    const started = await nbg(['start', 'cli1']);
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toMatch(/cli1 \(\w+\)\s+RUNNING/);
    expect((await json<{ status: string }>(['stop', inst.id])).status).toBe('STOPPED');

    const logs = await json<{ events: { action: string; result: string }[] }>(['logs', 'cli1', '--events']);
    expect(logs.events.map(e => e.action)).toEqual(expect.arrayContaining(['createNotebook', 'startNotebook', 'stopNotebook']));
    // The agent's own output, from both starts, newest last.
    const output = await json<{ output: string }>(['logs', 'cli1', '--tail', '500']);
    expect(output.output.match(/"listening"|listening/g)?.length).toBeGreaterThanOrEqual(2);
    expect((await nbg(['logs', 'cli1', '--tail', '0'])).stderr).toMatch(/tail/);

    const refused = await nbg(['delete', 'cli1']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--yes/);
    expect((await json<{ deleted: boolean }>(['delete', 'cli1', '--yes'])).deleted).toBe(true);
    expect(await json<unknown[]>(['list'])).toEqual([]);

    const missing = await nbg(['start', 'cli1', '--json']);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout)).toMatchObject({ error: { code: 'NB_ERR_INSTANCE_NOT_FOUND' } });
    expect(missing.stderr).toMatch(/NB_ERR_INSTANCE_NOT_FOUND/);

    // Jobs arrive from another area; the command works with or without them.
    const jobs = await nbg(['jobs', '--json']);
    expect(jobs.code, jobs.stderr).toBe(0);
    expect(Array.isArray(JSON.parse(jobs.stdout))).toBe(true);

    const usage = await nbg(['create', 'x']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--image is required/);

    expect((await nbg(['logout'])).code).toBe(0);
    expect((await nbg(['list'])).code).toBe(3);
  });

  it('should sign in with an API token and respect its scope', async () => {
    const res = await gw.api('/api/v1/tokens', { method: 'POST', token: gw.adminToken, json: { name: 'cli-ro', scope: ['notebook:list', 'notebook:get'] } });
    const { token } = (await res.json()) as { token: string };
    const login = await nbg(['login', gw.url, '--token', token, '--json']);
    expect(login.code, login.stderr).toBe(0);
    expect(JSON.parse(login.stdout)).toMatchObject({ user: 'admin', url: gw.url });
    expect(await json<unknown[]>(['list'])).toEqual([]);
    const denied = await nbg(['create', 'nope', '--image', 'python3.11-cpu-debian12', '--json']);
    expect(denied.code).toBe(1);
    expect(JSON.parse(denied.stdout)).toMatchObject({ error: { code: 'NB_ERR_TOKEN_SCOPE', status: 403 } });
  });
});
