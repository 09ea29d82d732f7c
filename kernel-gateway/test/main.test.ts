/**
 * The built agent as drivers run it: flags, exit codes, and the one shutdown path
 * (SIGTERM → stop accepting → kernels and terminals stopped → exit 0, nothing left).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repo = join(__dirname, '..', '..');
const main = join(repo, 'kernel-gateway', 'dist', 'main.cjs');

/** Live (non-zombie) descendants of `pid`. */
function descendants(pid: number): number[] {
  const kids = new Map<number, number[]>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const st = readFileSync(`/proc/${e}/stat`, 'utf8');
      const [state, ppid] = st.slice(st.lastIndexOf(')') + 2).split(' ');
      if (state === 'Z') continue;
      kids.set(Number(ppid), [...(kids.get(Number(ppid)) ?? []), Number(e)]);
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const c of kids.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

const alive = (pid: number): boolean => {
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

describe('nbg-kernel-gateway (built)', () => {
  beforeAll(async () => {
    await run(process.execPath, [join(repo, 'scripts', 'build.mjs'), 'kernel-gateway'], { cwd: repo });
  }, 120_000);

  it('should print its settings with --help and refuse bad ones with exit 2', async () => {
    const help = await run(process.execPath, [main, '--help']);
    expect(help.stdout).toContain('--contents-provider');
    expect(help.stdout).toContain('NBG_KG_TOKEN');
    const bad = await run(process.execPath, [main, '--transport', 'udp']).catch((e: { code: number; stderr: string }) => e);
    expect(bad).toMatchObject({ code: 2 });
    expect((bad as { stderr: string }).stderr).toContain('transport must be "ipc" or "tcp"');
  });

  it('should stop kernels and terminals on SIGTERM and exit 0 with nothing left running', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nbkg-main-'));
    const portFile = join(dir, 'port');
    const runtimeDir = join(dir, 'rt');
    const token = 'main-test-token';
    const agent = spawn(process.execPath, [main, '--port', '0', '--port-file', portFile, '--root-dir', dir, '--runtime-dir', runtimeDir, '--kernel-shutdown-grace-ms', '2000'], {
      env: { ...process.env, NBG_KG_TOKEN: token, NBG_KG_TERMINAL_SHELL: '/bin/bash --norc --noprofile -i' },
      stdio: ['ignore', 'ignore', 'pipe']
    });
    let log = '';
    agent.stderr!.on('data', d => (log += d));
    try {
      const end = Date.now() + 20_000;
      while (!existsSync(portFile)) {
        if (Date.now() > end || agent.exitCode !== null) throw new Error(`agent did not start: ${log}`);
        await new Promise(r => setTimeout(r, 20));
      }
      const base = `http://127.0.0.1:${readFileSync(portFile, 'utf8')}/`;
      const auth = { Authorization: `token ${token}` };
      for (let i = 0; i < 2; i++) expect((await fetch(`${base}api/kernels`, { method: 'POST', headers: auth, body: '{}' })).status).toBe(201);
      expect((await fetch(`${base}api/terminals`, { method: 'POST', headers: auth, body: '{}' })).status).toBe(200);
      // Two kernels and a shell, at least.
      const deadline = Date.now() + 20_000;
      let kids = descendants(agent.pid!);
      while (kids.length < 3 && Date.now() < deadline) {
        await new Promise(r => setTimeout(r, 50));
        kids = descendants(agent.pid!);
      }
      expect(kids.length).toBeGreaterThanOrEqual(3);
      const exited = new Promise<number | null>(r => agent.once('exit', code => r(code)));
      agent.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(kids.filter(alive)).toEqual([]);
      expect(existsSync(runtimeDir)).toBe(false);
      expect(log).toContain('"msg":"shutting down"');
    } finally {
      if (agent.exitCode === null) agent.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });
});
