import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PageConfig } from '@jupyterlab/coreutils';
import { TerminalManager, type Terminal } from '@jupyterlab/services';
import { startGateway, type TestGateway } from '../utils/gateway';

const waitFor = async (pred: () => boolean, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise(r => setTimeout(r, 20));
  }
};

/** Collects a terminal connection's stdout. */
function collect(t: Terminal.ITerminalConnection): { text: () => string; types: string[] } {
  let text = '';
  const types: string[] = [];
  t.messageReceived.connect((_s, msg) => {
    types.push(msg.type);
    if (msg.type === 'stdout') text += String(msg.content?.[0] ?? '');
  });
  return { text: () => text, types };
}

/** Running, and not a zombie waiting for a parent that has not reaped it yet. */
const alive = (pid: number): boolean => {
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

describe('terminals through @jupyterlab/services', () => {
  let gw: TestGateway;
  let terminals: TerminalManager;
  const auth = () => ({ Authorization: `token ${gw.token}` });

  beforeAll(async () => {
    gw = await startGateway({ terminalShell: ['/bin/bash', '--norc', '--noprofile', '-i'] });
    // The page JupyterLab is served in says so; our server always has terminals.
    PageConfig.setOption('terminalsAvailable', 'true');
    terminals = new TerminalManager({ serverSettings: gw.settings });
    await terminals.ready;
  });

  afterAll(async () => {
    terminals?.dispose();
    await gw?.dispose();
  });

  it('should echo what is typed, in the root directory', async () => {
    const t = await terminals.startNew();
    expect(t.name).toBe('1');
    const out = collect(t);
    await waitFor(() => t.connectionStatus === 'connected');
    t.send({ type: 'stdin', content: ['echo "hello-$((6*7))"; pwd\r'] });
    await waitFor(() => out.text().includes('hello-42\r\n'));
    await waitFor(() => out.text().includes(`${gw.rootDir}\r\n`));
    await t.shutdown();
  });

  it('should share a terminal between viewers, replay scrollback and size to the smallest', async () => {
    const a = await terminals.startNew();
    const outA = collect(a);
    await waitFor(() => a.connectionStatus === 'connected');
    a.send({ type: 'stdin', content: ['echo before-b-joined\r'] });
    await waitFor(() => outA.text().includes('before-b-joined\r\n'));
    const b = terminals.connectTo({ model: { name: a.name } });
    const outB = collect(b);
    await waitFor(() => outB.text().includes('before-b-joined'));
    a.send({ type: 'set_size', content: [30, 100, 0, 0] });
    b.send({ type: 'set_size', content: [20, 120, 0, 0] });
    await new Promise(r => setTimeout(r, 100));
    b.send({ type: 'stdin', content: ['stty size\r'] });
    await waitFor(() => outA.text().includes('20 100') && outB.text().includes('20 100'));
    b.dispose();
    await a.shutdown();
  });

  it('should start in a cwd under the root and refuse one outside', async () => {
    await mkdir(join(gw.rootDir, 'proj'));
    const res = await fetch(`${gw.url}api/terminals`, { method: 'POST', headers: auth(), body: JSON.stringify({ cwd: 'proj' }) });
    expect(res.status).toBe(200);
    const { name } = (await res.json()) as { name: string };
    const t = terminals.connectTo({ model: { name } });
    const out = collect(t);
    await waitFor(() => t.connectionStatus === 'connected');
    t.send({ type: 'stdin', content: ['pwd\r'] });
    await waitFor(() => out.text().includes(`${join(gw.rootDir, 'proj')}\r\n`));
    await t.shutdown();
    // A cwd escaping the root falls back to the root, as an unknown cwd does in jupyter_server.
    const esc = await fetch(`${gw.url}api/terminals`, { method: 'POST', headers: auth(), body: JSON.stringify({ cwd: '../..' }) });
    expect(esc.status).toBe(200);
    const escName = ((await esc.json()) as { name: string }).name;
    const e = terminals.connectTo({ model: { name: escName } });
    const eOut = collect(e);
    await waitFor(() => e.connectionStatus === 'connected');
    e.send({ type: 'stdin', content: ['pwd\r'] });
    await waitFor(() => eOut.text().includes(`${gw.rootDir}\r\n`));
    await e.shutdown();
  });

  it('should list, name, refuse duplicates, and delete with the shell and its children gone', async () => {
    const res = await fetch(`${gw.url}api/terminals`, { method: 'POST', headers: auth(), body: JSON.stringify({ name: 'build' }) });
    expect(await res.json()).toMatchObject({ name: 'build' });
    const dup = await fetch(`${gw.url}api/terminals`, { method: 'POST', headers: auth(), body: JSON.stringify({ name: 'build' }) });
    expect(dup.status).toBe(409);
    const bad = await fetch(`${gw.url}api/terminals`, { method: 'POST', headers: auth(), body: JSON.stringify({ name: 'a/b' }) });
    expect(bad.status).toBe(400);
    const list = (await (await fetch(`${gw.url}api/terminals`, { headers: auth() })).json()) as Array<{ name: string; last_activity: string }>;
    expect(list.map(t => t.name)).toContain('build');
    const t = terminals.connectTo({ model: { name: 'build' } });
    const out = collect(t);
    await waitFor(() => t.connectionStatus === 'connected');
    t.send({ type: 'stdin', content: ['sleep 300 & echo "bg=$!"\r'] });
    await waitFor(() => /bg=\d+/.test(out.text()));
    const bg = Number(/bg=(\d+)/.exec(out.text())![1]);
    const shellPid = gw.app.terminals.get('build').pid;
    expect(alive(bg)).toBe(true);
    const del = await fetch(`${gw.url}api/terminals/build`, { method: 'DELETE', headers: auth() });
    expect(del.status).toBe(204);
    expect(alive(shellPid)).toBe(false);
    await waitFor(() => !alive(bg), 2_000);
    expect((await fetch(`${gw.url}api/terminals/build`, { headers: auth() })).status).toBe(404);
    expect((await fetch(`${gw.url}api/terminals/build`, { method: 'DELETE', headers: auth() })).status).toBe(404);
    t.dispose();
  });

  it('should disconnect viewers and drop the terminal when the shell exits', async () => {
    const t = await terminals.startNew();
    await waitFor(() => t.connectionStatus === 'connected');
    t.send({ type: 'stdin', content: ['exit\r'] });
    // JupyterLab disposes the connection when it reads ["disconnect", 1].
    await waitFor(() => t.isDisposed);
    const list = (await (await fetch(`${gw.url}api/terminals`, { headers: auth() })).json()) as Array<{ name: string }>;
    expect(list.map(x => x.name)).not.toContain(t.name);
    t.dispose();
  });

  it('should report terminal I/O in the activity feed', async () => {
    const t = await terminals.startNew();
    await waitFor(() => t.connectionStatus === 'connected');
    const feed = async () => (await (await fetch(`${gw.url}api/nbg/activity`, { headers: auth() })).json()) as {
      last_activity: string; connections: number; terminals: Array<{ name: string; last_activity: string }>;
    };
    const before = await feed();
    expect(before.terminals.map(x => x.name)).toContain(t.name);
    expect(before.connections).toBeGreaterThanOrEqual(1);
    await new Promise(r => setTimeout(r, 20));
    t.send({ type: 'stdin', content: ['echo x\r'] });
    const end = Date.now() + 5_000;
    let after = await feed();
    while (after.last_activity === before.last_activity && Date.now() < end) after = await feed();
    expect(Date.parse(after.last_activity)).toBeGreaterThan(Date.parse(before.last_activity));
    await t.shutdown();
  });
});
