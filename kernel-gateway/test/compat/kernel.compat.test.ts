import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KernelManager, KernelSpecManager, type KernelMessage } from '@jupyterlab/services';
import { startGateway, type TestGateway } from '../utils/gateway';

describe('kernels through @jupyterlab/services', () => {
  let gw: TestGateway;
  let manager: KernelManager;

  beforeAll(async () => {
    gw = await startGateway();
    manager = new KernelManager({ serverSettings: gw.settings });
    await manager.ready;
  });

  afterAll(async () => {
    manager?.dispose();
    await gw?.dispose();
  });

  it('should list the python3 kernelspec from the standard data dirs', async () => {
    const specs = new KernelSpecManager({ serverSettings: gw.settings });
    await specs.ready;
    expect(specs.specs?.default).toBe('python3');
    expect(specs.specs?.kernelspecs.python3?.language).toBe('python');
    specs.dispose();
  });

  it('should execute 6*7 and read 42 from the execute result', async () => {
    const kernel = await manager.startNew({ name: 'python3' });
    const results: string[] = [];
    const future = kernel.requestExecute({ code: '6*7' });
    future.onIOPub = (msg: KernelMessage.IIOPubMessage) => {
      if (msg.header.msg_type === 'execute_result') {
        results.push((msg as KernelMessage.IExecuteResultMsg).content.data['text/plain'] as string);
      }
    };
    const reply = await future.done;
    expect(reply?.content.status).toBe('ok');
    expect(results).toEqual(['42']);
    await kernel.shutdown();
  });

  it('should answer 404 with a Jupyter error body for an unknown kernel', async () => {
    const res = await fetch(`${gw.url}api/kernels/nope`, { headers: { Authorization: `token ${gw.token}` } });
    expect(res.status).toBe(404);
    const body = (await res.json()) as { message: string; reason: string };
    expect(body.message).toContain('nope');
    expect(body.reason).toBe('Not Found');
  });

  it('should refuse requests without the token', async () => {
    const res = await fetch(`${gw.url}api/kernels`);
    expect(res.status).toBe(403);
  });
});
