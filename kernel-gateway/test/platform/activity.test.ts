import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KernelManager } from '@jupyterlab/services';
import { startGateway, type TestGateway } from '../utils/gateway';

interface Feed {
  now: string;
  last_activity: string;
  busy: boolean;
  connections: number;
  kernels: Array<{ id: string; name: string; execution_state: string; last_activity: string; connections: number }>;
  terminals: Array<{ name: string; last_activity: string }>;
}

describe('GET api/nbg/activity', () => {
  let gw: TestGateway;
  let manager: KernelManager;
  const feed = async (): Promise<Feed> => {
    const res = await fetch(`${gw.url}api/nbg/activity`, { headers: { Authorization: `token ${gw.token}` } });
    expect(res.status).toBe(200);
    return (await res.json()) as Feed;
  };
  const waitFor = async (pred: (f: Feed) => boolean, ms = 10_000): Promise<Feed> => {
    const end = Date.now() + ms;
    for (;;) {
      const f = await feed();
      if (pred(f)) return f;
      if (Date.now() > end) throw new Error(`feed never matched: ${JSON.stringify(f)}`);
      await new Promise(r => setTimeout(r, 50));
    }
  };

  beforeAll(async () => {
    gw = await startGateway();
    manager = new KernelManager({ serverSettings: gw.settings });
    await manager.ready;
  });

  afterAll(async () => {
    manager?.dispose();
    await gw?.dispose();
  });

  it('should report an idle instance with no kernels, and reading it is not activity', async () => {
    const first = await feed();
    expect(first).toMatchObject({ busy: false, connections: 0, kernels: [], terminals: [] });
    expect(Date.parse(first.now)).toBeGreaterThanOrEqual(Date.parse(first.last_activity));
    await new Promise(r => setTimeout(r, 20));
    const second = await feed();
    expect(second.last_activity).toBe(first.last_activity);
  });

  it('should stay busy while a cell runs without printing, then go idle', async () => {
    const kernel = await manager.startNew({ name: 'python3' });
    await kernel.info;
    const before = await waitFor(f => f.kernels.length === 1 && f.connections === 1);
    expect(before.kernels[0]).toMatchObject({ id: kernel.id, name: 'python3', connections: 1 });
    const future = kernel.requestExecute({ code: 'import time; time.sleep(1.5)' });
    const busy = await waitFor(f => f.busy);
    expect(busy.kernels[0]!.execution_state).toBe('busy');
    // A silent cell: still busy half a second later, whatever last_activity says.
    await new Promise(r => setTimeout(r, 500));
    expect((await feed()).busy).toBe(true);
    await future.done;
    const idle = await waitFor(f => !f.busy && f.kernels[0]!.execution_state === 'idle');
    expect(Date.parse(idle.last_activity)).toBeGreaterThan(Date.parse(before.last_activity));
    expect(idle.kernels[0]!.last_activity).toBe(idle.last_activity);
    await kernel.shutdown();
    await waitFor(f => f.kernels.length === 0 && f.connections === 0);
  });

  it('should count a state-changing request as activity but not a polled list', async () => {
    const start = (await feed()).last_activity;
    await new Promise(r => setTimeout(r, 10));
    const list = await fetch(`${gw.url}api/kernels`, { headers: { Authorization: `token ${gw.token}` } });
    expect(list.status).toBe(200);
    expect((await feed()).last_activity).toBe(start);
    const bad = await fetch(`${gw.url}api/kernels`, {
      method: 'POST',
      headers: { Authorization: `token ${gw.token}` },
      body: JSON.stringify({ name: 'no-such-kernel' })
    });
    expect(bad.status).toBe(404);
    expect((await feed()).last_activity).toBe(start);
  });
});
