import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeDriver } from '../../src/drivers/fake/fake-driver';
import type { NotebookInstance } from '../../src/api/types';
import { startTestApp, waitFor, type TestApp } from '../utils/app';

/** A minimal `web/dist` with the files the gateway reads, so these tests need no web build. */
async function fakeWebDist(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nbg-webdist-'));
  await mkdir(join(dir, 'console'), { recursive: true });
  await mkdir(join(dir, 'lab', 'static', 'chunks'), { recursive: true });
  await mkdir(join(dir, 'lab', 'themes', '@jupyterlab', 'theme-light-extension'), { recursive: true });
  await writeFile(join(dir, 'console', 'index.html'), '<!doctype html><title>console</title>');
  const js = 'console.log("lab");'.repeat(200);
  await writeFile(join(dir, 'lab', 'static', 'main-ABCDEFGH.js'), js);
  await writeFile(join(dir, 'lab', 'static', 'main-ABCDEFGH.js.gz'), gzipSync(js));
  await writeFile(join(dir, 'lab', 'index.html'), '<html><script id="jupyter-config-data" type="application/json">{{PAGE_CONFIG}}</script></html>');
  await writeFile(join(dir, 'lab', 'build.json'), JSON.stringify({ version: '4.6.4', extensions: [] }));
  await writeFile(join(dir, 'lab', 'themes', '@jupyterlab', 'theme-light-extension', 'index.css'), ':root{--jp-x:1}');
  await writeFile(
    join(dir, 'lab', 'schemas.json'),
    JSON.stringify({
      '@jupyterlab/apputils-extension:themes': { type: 'object', properties: { theme: { type: 'string', default: 'JupyterLab Light' } } },
      '@jupyterlab/notebook-extension:tracker': { type: 'object', properties: {} },
      '@jupyterlab/zz-extension:big': { type: 'object', description: 'x'.repeat(8000), properties: {} }
    })
  );
  return dir;
}

describe('web routes', () => {
  let t: TestApp;
  let webDir: string;
  let inst: NotebookInstance;
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };

  beforeAll(async () => {
    webDir = await fakeWebDist();
    t = await startTestApp({ driver: new FakeDriver(), config: { webDir } });
    alice = await t.user('alice');
    bob = await t.user('bob');
    const res = await t.api('/api/v1/notebooks', { method: 'POST', token: alice.token, json: { name: 'lab1', image: 'python3.11-cpu-debian12' } });
    expect(res.status).toBe(201);
    inst = (await res.json()) as NotebookInstance;
    await waitFor(async () => {
      const r = (await (await t.api(`/api/v1/notebooks/${inst.id}`, { token: alice.token })).json()) as NotebookInstance;
      return r.status === 'RUNNING';
    }, 'RUNNING');
  });
  afterAll(async () => {
    await t?.dispose();
    await rm(webDir, { recursive: true, force: true });
  });

  const lab = (path: string, init: RequestInit & { token?: string; json?: unknown } = {}, who = alice): Promise<Response> =>
    t.api(`/notebooks/${inst.id}/lab${path}`, { token: who.token, ...init });

  describe('console and assets', () => {
    it('should serve the console at / without signing in', async () => {
      const res = await fetch(`${t.url}/`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/html');
      expect(await res.text()).toContain('<title>console</title>');
    });

    it('should serve hashed assets gzipped with a year of caching', async () => {
      const res = await fetch(`${t.url}/static/lab/main-ABCDEFGH.js`, { headers: { 'accept-encoding': 'gzip' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-encoding')).toBe('gzip');
      expect(res.headers.get('cache-control')).toContain('immutable');
      expect(await res.text()).toContain('console.log("lab")');
    });

    it('should refuse paths that leave the asset directory', async () => {
      for (const p of ['/static/lab/..%2F..%2Fschemas.json', '/static/lab/%2e%2e/index.html', '/static/console/../lab/index.html']) {
        const res = await fetch(`${t.url}${p}`);
        expect(res.status, p).toBe(404);
      }
    });
  });

  describe('lab page', () => {
    it('should render the page config for the owner, with no token in it', async () => {
      const res = await lab('/tree/work/a.ipynb');
      expect(res.status).toBe(200);
      const html = await res.text();
      const json = /<script id="jupyter-config-data" type="application\/json">(.*)<\/script>/.exec(html)![1]!;
      const cfg = JSON.parse(json) as Record<string, unknown>;
      expect(cfg.baseUrl).toBe(`/notebooks/${inst.id}/`);
      expect(cfg.treePath).toBe('work/a.ipynb');
      expect(cfg.token).toBe('');
      expect(cfg.nbgInstanceId).toBe(inst.id);
      expect(cfg.appVersion).toBe('4.6.4');
      expect(html).not.toContain(alice.token);
    });

    it('should keep what comes from the URL from closing the config script', async () => {
      const res = await lab('/tree/%3C%2Fscript%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E.ipynb');
      const html = await res.text();
      expect(html).not.toContain('<script>alert(1)');
      const json = /<script id="jupyter-config-data" type="application\/json">(.*)<\/script>/.exec(html)![1]!;
      expect((JSON.parse(json) as { treePath: string }).treePath).toBe('</script><script>alert(1)</script>.ipynb');
      const ws = await lab('/workspaces/team/tree/a.ipynb');
      const cfg = JSON.parse(/<script id="jupyter-config-data" type="application\/json">(.*)<\/script>/.exec(await ws.text())![1]!) as { workspace: string; treePath: string };
      expect(cfg).toMatchObject({ workspace: 'team', treePath: 'a.ipynb' });
    });

    it('should send a signed-out browser to the console sign-in and hide other users\' instances', async () => {
      const res = await fetch(`${t.url}/notebooks/${inst.id}/lab`, { redirect: 'manual' });
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe(`/#/signin?next=${encodeURIComponent(`/notebooks/${inst.id}/lab`)}`);
      expect((await lab('', {}, bob)).status).toBe(404);
    });
  });

  describe('lab/api/settings', () => {
    it('should list every schema with the user\'s values and persist them per user', async () => {
      const list = (await (await lab('/api/settings')).json()) as { settings: { id: string; raw: string }[] };
      expect(list.settings.map(s => s.id)).toEqual(['@jupyterlab/apputils-extension:themes', '@jupyterlab/notebook-extension:tracker', '@jupyterlab/zz-extension:big']);
      expect(list.settings[0]!.raw).toBe('{}');
      // The list carries every schema: compressed when the client accepts it, small answers not.
      const gz = await fetch(`${t.url}/notebooks/${inst.id}/lab/api/settings`, { headers: { authorization: `Bearer ${alice.token}`, 'accept-encoding': 'gzip' } });
      expect(gz.headers.get('content-encoding')).toBe('gzip');
      expect(((await gz.json()) as { settings: unknown[] }).settings).toHaveLength(3);
      const small = await fetch(`${t.url}/notebooks/${inst.id}/lab/api/translations`, { headers: { authorization: `Bearer ${alice.token}`, 'accept-encoding': 'gzip' } });
      expect(small.headers.get('content-encoding')).toBeNull();

      const raw = '{\n  // chosen in the lab\n  "theme": "JupyterLab Dark",\n}';
      // JupyterLab sends text/plain when it has no token (cookie sessions).
      const put = await lab('/api/settings/@jupyterlab/apputils-extension:themes', { method: 'PUT', body: JSON.stringify({ raw }), headers: { 'content-type': 'text/plain;charset=UTF-8' } });
      expect(put.status).toBe(204);
      const one = (await (await lab('/api/settings/@jupyterlab/apputils-extension:themes')).json()) as { raw: string; settings: { theme: string }; last_modified: string };
      expect(one.raw).toBe(raw);
      expect(one.settings.theme).toBe('JupyterLab Dark');
      expect(one.last_modified).not.toBeNull();

      // Another user keeps the defaults.
      const bobs = await t.api('/api/v1/notebooks', { method: 'POST', token: bob.token, json: { name: 'b', image: 'python3.11-cpu-debian12' } });
      const bi = (await bobs.json()) as NotebookInstance;
      const other = (await (await t.api(`/notebooks/${bi.id}/lab/api/settings/@jupyterlab/apputils-extension:themes`, { token: bob.token })).json()) as { raw: string };
      expect(other.raw).toBe('{}');
    });

    it('should refuse unknown plug-ins and values that are not a JSON object', async () => {
      const unknown = await lab('/api/settings/@x/y:z', { method: 'PUT', json: { raw: '{}' } });
      expect(unknown.status).toBe(404);
      expect(((await unknown.json()) as { code: string }).code).toBe('NB_ERR_LAB_PLUGIN_NOT_FOUND');
      const bad = await lab('/api/settings/@jupyterlab/notebook-extension:tracker', { method: 'PUT', json: { raw: '[1,2' } });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { message: string }).message).toContain('not valid JSON');
      const arr = await lab('/api/settings/@jupyterlab/notebook-extension:tracker', { method: 'PUT', json: { raw: '[1]' } });
      expect(arr.status).toBe(400);
    });

    it('should refuse a cookie-authenticated write from another site', async () => {
      const res = await fetch(`${t.url}/notebooks/${inst.id}/lab/api/settings/@jupyterlab/notebook-extension:tracker`, {
        method: 'PUT',
        body: JSON.stringify({ raw: '{}' }),
        headers: { cookie: `nbg_session=${alice.token}`, origin: 'http://evil.example', 'content-type': 'text/plain' }
      });
      expect(res.status).toBe(403);
    });
  });

  describe('lab/api/workspaces, translations, themes', () => {
    it('should store workspaces per user and instance', async () => {
      const empty = (await (await lab('/api/workspaces/default')).json()) as { data: object; metadata: { id: string } };
      expect(empty).toEqual({ data: {}, metadata: { id: 'default' } });
      const body = { data: { 'layout-restorer:data': { main: { dock: null } } }, metadata: { id: 'default' } };
      expect((await lab('/api/workspaces/default', { method: 'PUT', json: body })).status).toBe(204);
      const got = (await (await lab('/api/workspaces/default')).json()) as { data: object; metadata: { id: string } };
      expect(got.data).toEqual(body.data);
      const list = (await (await lab('/api/workspaces')).json()) as { workspaces: { ids: string[] } };
      expect(list.workspaces.ids).toEqual(['default']);
      expect((await lab('/api/workspaces/bad name')).status).toBe(400);
      expect((await lab('/api/workspaces/default', { method: 'DELETE' })).status).toBe(204);
      expect((await lab('/api/workspaces/default', { method: 'DELETE' })).status).toBe(404);
    });

    it('should answer translations and serve themes', async () => {
      const tr = (await (await lab('/api/translations')).json()) as { data: Record<string, unknown> };
      expect(Object.keys(tr.data)).toEqual(['en']);
      expect(((await (await lab('/api/translations/default')).json()) as { data: object }).data).toEqual({});
      const css = await lab('/api/themes/@jupyterlab/theme-light-extension/index.css');
      expect(css.status).toBe(200);
      expect(await css.text()).toContain('--jp-x');
      expect((await lab('/api/nothing-here')).status).toBe(404);
    });
  });
});

describe('web routes without a build', () => {
  let t: TestApp | undefined;
  afterEach(async () => t?.dispose());

  it('should say the assets are not built', async () => {
    const webDir = await mkdtemp(join(tmpdir(), 'nbg-noweb-'));
    t = await startTestApp({ driver: new FakeDriver(), config: { webDir } });
    const res = await fetch(`${t.url}/`);
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('./dev build');
    await rm(webDir, { recursive: true, force: true });
  });
});
