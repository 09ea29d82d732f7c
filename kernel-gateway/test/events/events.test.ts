import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventManager } from '@jupyterlab/services';
import { startGateway, type TestGateway } from '../utils/gateway';

describe('api/events', () => {
  let gw: TestGateway;
  let manager: EventManager;
  const seen: Array<Record<string, unknown>> = [];
  const auth = () => ({ Authorization: `token ${gw.token}` });

  beforeAll(async () => {
    gw = await startGateway();
    manager = new EventManager({ serverSettings: gw.settings });
    manager.stream.connect((_s, e) => void seen.push(e as Record<string, unknown>));
    // The subscription opens asynchronously: wait until an event of our own arrives.
    const end = Date.now() + 10_000;
    while (!seen.some(e => e.action === 'create')) {
      if (Date.now() > end) throw new Error('events never arrived');
      await fetch(`${gw.url}api/contents`, { method: 'POST', headers: auth(), body: '{"type":"directory"}' });
      await new Promise(r => setTimeout(r, 100));
    }
  });

  afterAll(async () => {
    manager?.dispose();
    await gw?.dispose();
  });

  const waitFor = async (pred: (e: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> => {
    const end = Date.now() + 15_000;
    for (;;) {
      const hit = seen.find(pred);
      if (hit) return hit;
      if (Date.now() > end) throw new Error(`no such event among ${JSON.stringify(seen.slice(-5))}`);
      await new Promise(r => setTimeout(r, 20));
    }
  };

  it('should stream contents events as jupyter_server emits them', async () => {
    await fetch(`${gw.url}api/contents/a.txt`, { method: 'PUT', headers: auth(), body: JSON.stringify({ type: 'file', format: 'text', content: 'x' }) });
    await fetch(`${gw.url}api/contents/a.txt`, { method: 'PATCH', headers: auth(), body: JSON.stringify({ path: 'b.txt' }) });
    await fetch(`${gw.url}api/contents/b.txt`, { method: 'DELETE', headers: auth() });
    const upload = await waitFor(e => e.action === 'upload' && e.path === 'a.txt');
    expect(upload).toMatchObject({ schema_id: 'https://events.jupyter.org/jupyter_server/contents_service/v1', version: 1 });
    expect(Date.parse(upload.timestamp as string)).toBeGreaterThan(0);
    expect(await waitFor(e => e.action === 'rename')).toMatchObject({ path: 'b.txt', source_path: 'a.txt' });
    await waitFor(e => e.action === 'delete' && e.path === 'b.txt');
  });

  it('should stream kernel actions, failures included', async () => {
    const res = await fetch(`${gw.url}api/kernels`, { method: 'POST', headers: auth(), body: '{"name":"python3"}' });
    const { id } = (await res.json()) as { id: string };
    await fetch(`${gw.url}api/kernels/${id}`, { method: 'DELETE', headers: auth() });
    await fetch(`${gw.url}api/kernels`, { method: 'POST', headers: auth(), body: '{"name":"cobol"}' });
    const schema = 'https://events.jupyter.org/jupyter_server/kernel_actions/v1';
    expect(await waitFor(e => e.schema_id === schema && e.action === 'start' && e.status === 'success')).toMatchObject({ kernel_id: id, kernel_name: 'python3' });
    await waitFor(e => e.schema_id === schema && e.action === 'shutdown' && e.kernel_id === id);
    expect(await waitFor(e => e.schema_id === schema && e.action === 'start' && e.status === 'error')).toMatchObject({ kernel_name: 'cobol', status_code: 404 });
  });

  it('should let clients emit under a registered schema, and refuse others with 400', async () => {
    await manager.emit({ schema_id: 'https://events.jupyter.org/jupyter_server/contents_service/v1', version: '1', data: { action: 'get', path: 'from-client' } });
    await waitFor(e => e.path === 'from-client');
    const bad = await fetch(`${gw.url}api/events`, { method: 'POST', headers: auth(), body: JSON.stringify({ schema_id: 'urn:nope', version: 1, data: {} }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toContain('Unregistered event schema');
    const wrong = await fetch(`${gw.url}api/events`, {
      method: 'POST', headers: auth(),
      body: JSON.stringify({ schema_id: 'https://events.jupyter.org/jupyter_server/contents_service/v1', version: 1, data: { action: 'explode', path: 'x' } })
    });
    expect(wrong.status).toBe(400);
  });
});
