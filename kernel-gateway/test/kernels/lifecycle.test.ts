import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type TestGateway } from '../utils/gateway';
import { parseLegacy, RawChannel, writeKernelSpec } from '../utils/kernel';

/** Our child processes still running `sleep 600` (zombies excluded). */
function sleepingChildren(): number[] {
  return readdirSync('/proc').filter(p => /^\d+$/.test(p)).flatMap(p => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      return Number(ppid) === process.pid && state !== 'Z' && cmd.startsWith('sleep\u0000600') ? [Number(p)] : [];
    } catch {
      return [];
    }
  });
}

describe('kernel start failures', () => {
  let gw: TestGateway;
  let specDir: string;
  const auth = () => ({ Authorization: `token ${gw.token}` });
  const start = (name: string) => fetch(`${gw.url}api/kernels`, { method: 'POST', headers: auth(), body: JSON.stringify({ name }) });

  beforeAll(async () => {
    specDir = await mkdtemp(join(tmpdir(), 'nbkg-specs-'));
    await writeKernelSpec(specDir, 'exits', { argv: ['/usr/bin/python3', '-c', 'import sys; sys.exit(3)', '{connection_file}'] });
    await writeKernelSpec(specDir, 'missing', { argv: ['/nonexistent/python', '-f', '{connection_file}'] });
    await writeKernelSpec(specDir, 'mute', { argv: ['/bin/sh', '-c', 'exec sleep 600', 'sh', '{connection_file}'] });
    gw = await startGateway({ jupyterPath: [specDir], kernelStartTimeoutMs: 1_500 });
  });

  afterAll(async () => {
    await gw?.dispose();
    await rm(specDir, { recursive: true, force: true });
  });

  it('should answer 500 naming the program when the kernel cannot be spawned', async () => {
    const res = await start('missing');
    expect(res.status).toBe(500);
    expect(((await res.json()) as { message: string }).message).toContain('/nonexistent/python');
    expect(gw.app.kernels.size).toBe(0);
  });

  it('should report a kernel that exits before it is ready as dead', async () => {
    const res = await start('exits');
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const end = Date.now() + 10_000;
    let state = '';
    while (state !== 'dead' && Date.now() < end) {
      state = ((await (await fetch(`${gw.url}api/kernels/${id}`, { headers: auth() })).json()) as { execution_state: string }).execution_state;
      await new Promise(r => setTimeout(r, 50));
    }
    expect(state).toBe('dead');
    expect(gw.logs.some(l => l.includes('kernel exited before it was ready'))).toBe(true);
    expect((await fetch(`${gw.url}api/kernels/${id}`, { method: 'DELETE', headers: auth() })).status).toBe(204);
  });

  it('should declare a kernel that never answers dead after the start timeout, tell its clients, and kill it', async () => {
    const res = await start('mute');
    const { id, execution_state } = (await res.json()) as { id: string; execution_state: string };
    expect(execution_state).toBe('starting');
    const ch = await RawChannel.open(`${gw.url.replace(/^http/, 'ws')}api/kernels/${id}/channels?token=${gw.token}`);
    const end = Date.now() + 10_000;
    let state = '';
    while (state !== 'dead' && Date.now() < end) {
      state = ((await (await fetch(`${gw.url}api/kernels/${id}`, { headers: auth() })).json()) as { execution_state: string }).execution_state;
      await new Promise(r => setTimeout(r, 100));
    }
    expect(state).toBe('dead');
    expect(gw.logs.some(l => l.includes('kernel did not become ready'))).toBe(true);
    await ch.until(rx => rx.map(parseLegacy).some(p => p.msg.msg_type === 'status' && p.msg.content.execution_state === 'dead'));
    expect(sleepingChildren()).toEqual([]);
    await ch.close();
    await fetch(`${gw.url}api/kernels/${id}`, { method: 'DELETE', headers: auth() });
  });
});
