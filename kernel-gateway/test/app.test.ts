import { afterEach, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import WebSocket from 'ws';
import { startGateway, type TestGateway } from './utils/gateway';

/** Running, and not a zombie. */
const alive = (pid: number): boolean => {
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

/** Pids of processes whose parent is `ppid`, transitively. */
function descendants(ppid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const st = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppidOf = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppidOf, [...(parents.get(ppidOf) ?? []), Number(e)]);
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const c of parents.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(ppid);
  return out;
}

describe('createApp()', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.dispose();
    gw = undefined;
  });

  it('should answer /api, /api/status and /api/me', async () => {
    gw = await startGateway({ userName: 'ma-user' });
    const get = async (p: string) => {
      const res = await fetch(`${gw!.url}${p}`, { headers: { Authorization: `token ${gw!.token}` } });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    };
    expect((await get('api')).body.version).toMatch(/^2\./);
    const status = await get('api/status');
    expect(status.body).toMatchObject({ connections: 0, kernels: 0 });
    expect(Date.parse(status.body.started)).toBeGreaterThan(0);
    const me = await get(`api/me?permissions=${encodeURIComponent('{"contents":["read","write"],"kernels":["execute"]}')}`);
    expect(me.body).toEqual({
      identity: { username: 'ma-user', name: 'ma-user', display_name: 'ma-user', initials: 'MU', avatar_url: null, color: null },
      permissions: { contents: ['read', 'write'], kernels: ['execute'] }
    });
    expect((await get('api/me?permissions=[1]')).status).toBe(400);
    expect((await get('api/nope')).status).toBe(404);
    const wrong = await fetch(`${gw.url}api/status`, { method: 'DELETE', headers: { Authorization: `token ${gw.token}` } });
    expect(wrong.status).toBe(405);
  });

  it('should stop kernels and terminals, close WebSockets and remove its runtime dir on dispose', async () => {
    gw = await startGateway({ terminalShell: ['/bin/bash', '--norc', '--noprofile', '-i'] });
    const auth = { Authorization: `token ${gw.token}` };
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${gw.url}api/kernels`, { method: 'POST', headers: auth, body: '{}' });
      ids.push(((await res.json()) as { id: string }).id);
    }
    await fetch(`${gw.url}api/terminals`, { method: 'POST', headers: auth, body: '{}' });
    const ws = new WebSocket(`${gw.url.replace(/^http/, 'ws')}terminals/websocket/1?token=${gw.token}`);
    await new Promise(r => ws.once('open', r));
    ws.send(JSON.stringify(['stdin', 'sleep 600 &\r']));
    const kws = new WebSocket(`${gw.url.replace(/^http/, 'ws')}api/kernels/${ids[0]}/channels?token=${gw.token}`);
    await new Promise(r => kws.once('open', r));
    await new Promise(r => setTimeout(r, 300));
    const children = descendants(process.pid).filter(alive);
    // Two kernels, the shell and its sleep, at least.
    expect(children.length).toBeGreaterThanOrEqual(4);
    const closes = [ws, kws].map(s => new Promise<number>(r => s.once('close', code => r(code))));
    await gw.app.dispose();
    expect(await Promise.all(closes)).toEqual([1001, 1001]);
    expect(children.filter(alive)).toEqual([]);
    await expect(stat(gw.config.runtimeDir)).rejects.toThrow();
    await gw.app.dispose();
  });
});
