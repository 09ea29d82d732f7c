import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { KernelManager, SessionManager } from '@jupyterlab/services';
import { startGateway, type TestGateway } from '../utils/gateway';
import { run } from '../utils/kernel';

describe('sessions through @jupyterlab/services', () => {
  let gw: TestGateway;
  let kernels: KernelManager;
  let sessions: SessionManager;
  const auth = () => ({ Authorization: `token ${gw.token}` });
  const kernelStatus = async (id: string) => (await fetch(`${gw.url}api/kernels/${id}`, { headers: auth() })).status;

  beforeAll(async () => {
    // With a spare, as agents run: JupyterLab's client must not notice which kernels were spares.
    gw = await startGateway({ kernelPrespawn: 1 });
    kernels = new KernelManager({ serverSettings: gw.settings });
    sessions = new SessionManager({ kernelManager: kernels, serverSettings: gw.settings });
    await sessions.ready;
  });

  afterAll(async () => {
    sessions?.dispose();
    kernels?.dispose();
    await gw?.dispose();
  });

  it('should start a kernel next to the notebook and name its session', async () => {
    await mkdir(join(gw.rootDir, 'proj'));
    const s = await sessions.startNew({ path: 'proj/a.ipynb', type: 'notebook', name: 'a.ipynb', kernel: { name: 'python3' } });
    expect(s.model).toMatchObject({ path: 'proj/a.ipynb', type: 'notebook', name: 'a.ipynb', kernel: { name: 'python3' } });
    const r = await run(s.kernel!, 'import os; print(os.getcwd()); print(os.environ["JPY_SESSION_NAME"])');
    expect(r.stdout).toBe(`${join(gw.rootDir, 'proj')}\nproj/a.ipynb\n`);
    // One session per path: asking again returns the same one.
    const again = await fetch(`${gw.url}api/sessions`, {
      method: 'POST', headers: auth(), body: JSON.stringify({ path: 'proj/a.ipynb', type: 'notebook', kernel: { name: 'python3' } })
    });
    expect(again.status).toBe(201);
    expect(((await again.json()) as { id: string }).id).toBe(s.id);
    const kernelId = s.kernel!.id;
    await s.shutdown();
    expect(await kernelStatus(kernelId)).toBe(404);
  });

  it('should rename, retype and change the kernel, shutting the old kernel down', async () => {
    const s = await sessions.startNew({ path: 'b.ipynb', type: 'notebook', name: 'b.ipynb', kernel: { name: 'python3' } });
    await s.setPath('renamed.ipynb');
    await s.setName('renamed.ipynb');
    await s.setType('console');
    const listed = (await (await fetch(`${gw.url}api/sessions`, { headers: auth() })).json()) as Array<Record<string, unknown>>;
    expect(listed).toContainEqual(expect.objectContaining({ id: s.id, path: 'renamed.ipynb', name: 'renamed.ipynb', type: 'console', notebook: { path: 'renamed.ipynb', name: 'renamed.ipynb' } }));
    const oldKernel = s.kernel!.id;
    const next = await s.changeKernel({ name: 'python3' });
    expect(next!.id).not.toBe(oldKernel);
    expect(await kernelStatus(oldKernel)).toBe(404);
    expect((await run(next!, '1+1')).results).toEqual(['2']);
    await s.shutdown();
  });

  it('should move a session onto an existing kernel by id', async () => {
    const k = await kernels.startNew({ name: 'python3' });
    const res = await fetch(`${gw.url}api/sessions`, {
      method: 'POST', headers: auth(), body: JSON.stringify({ path: 'shared.ipynb', type: 'notebook', kernel: { id: k.id } })
    });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { kernel: { id: string } }).kernel.id).toBe(k.id);
    const bad = await fetch(`${gw.url}api/sessions`, {
      method: 'POST', headers: auth(), body: JSON.stringify({ path: 'x.ipynb', type: 'notebook', kernel: { id: 'no-such-kernel' } })
    });
    expect(bad.status).toBe(400);
    await k.shutdown();
  });

  it('should drop a session whose kernel was shut down through /api/kernels', async () => {
    const s = await sessions.startNew({ path: 'c.ipynb', type: 'notebook', name: 'c.ipynb', kernel: { name: 'python3' } });
    await fetch(`${gw.url}api/kernels/${s.kernel!.id}`, { method: 'DELETE', headers: auth() });
    const listed = (await (await fetch(`${gw.url}api/sessions`, { headers: auth() })).json()) as Array<{ id: string }>;
    expect(listed.map(x => x.id)).not.toContain(s.id);
    expect((await fetch(`${gw.url}api/sessions/${s.id}`, { headers: auth() })).status).toBe(404);
    s.dispose();
  });

  it('should refuse bad bodies with 400 and unknown sessions with 404', async () => {
    const post = (body: unknown) => fetch(`${gw.url}api/sessions`, { method: 'POST', headers: auth(), body: JSON.stringify(body) });
    expect((await post({ type: 'notebook' })).status).toBe(400);
    expect((await post({ path: 'a' })).status).toBe(400);
    expect((await post({ path: 'a', type: 'notebook', kernel: 'python3' })).status).toBe(400);
    expect((await post({ path: 'a', type: 'notebook', kernel: { name: 'cobol' } })).status).toBe(404);
    // A kernel's cwd is the notebook's directory: never one outside the root.
    expect((await post({ path: '../../etc/x.ipynb', type: 'notebook', kernel: { name: 'python3' } })).status).toBe(400);
    expect(gw.app.kernels.size).toBe(0);
    expect((await fetch(`${gw.url}api/sessions/nope`, { method: 'PATCH', headers: auth(), body: '{"path":"x"}' })).status).toBe(404);
    expect((await fetch(`${gw.url}api/sessions/nope`, { method: 'DELETE', headers: auth() })).status).toBe(404);
  });

  it('should accept the legacy {notebook: {path}} body', async () => {
    const res = await fetch(`${gw.url}api/sessions`, {
      method: 'POST', headers: auth(), body: JSON.stringify({ notebook: { path: 'legacy.ipynb' }, kernel: { name: 'python3' } })
    });
    expect(res.status).toBe(201);
    const model = (await res.json()) as { id: string; path: string; type: string };
    expect(model).toMatchObject({ path: 'legacy.ipynb', type: 'notebook' });
    expect((await fetch(`${gw.url}api/sessions/${model.id}`, { method: 'DELETE', headers: auth() })).status).toBe(204);
  });
});
