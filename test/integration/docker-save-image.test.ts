/**
 * Save as image on real Docker (issue 8, SPEC §5): pip --user packages and ~/.vscode-server
 * survive into a new instance, ~/work does not; refusals leave nothing registered; the image is
 * pushed to a real registry and pulled back by digest; in-use images cannot be deleted.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NotebookInstance } from '../../server/src/api/types';
import type { CustomImage } from '../../server/src/api/images.routes';
import { instanceOf, startGatewayProcess, waitFor, waitForInstance, type GatewayProcess } from '../utils/gateway-process';
import { startRegistry, type TestRegistry } from '../utils/registry';
import { buildProbeWheel, docker, dockerDump, dockerGatewayEnv, dockerUsable, requireImages, runCode, sweep } from './docker-helpers';

const usable = await dockerUsable();
const IMAGE = 'python3.11-cpu-debian12';
const PREFIX = `nbtest-save-${process.pid}-`;

/** Removes the custom images saved from the given instances. */
async function removeSavedImages(instanceIds: Set<string>): Promise<void> {
  for (const img of await docker.listImages({ filters: { label: ['nbgateway.custom-image'] } })) {
    if (instanceIds.has(img.Labels?.['nbgateway.source-instance'] ?? '')) await docker.getImage(img.Id).remove({ force: true }).catch(() => undefined);
  }
}

describe.skipIf(!usable)('save as image (Docker)', () => {
  let gw: GatewayProcess;
  let registry: TestRegistry;
  let volumesDir: string;
  const created = new Set<string>();

  beforeAll(async () => {
    await requireImages(IMAGE);
    registry = await startRegistry();
    volumesDir = await mkdtemp(join(tmpdir(), 'nbtest-save-vol-'));
    gw = await startGatewayProcess({ ...dockerGatewayEnv(volumesDir, PREFIX), NBG_REGISTRY: registry.address });
  });

  afterAll(async () => {
    await gw?.stop();
    await sweep(PREFIX, volumesDir);
    await removeSavedImages(created);
    await registry?.dispose();
  });

  const get = (id: string): Promise<NotebookInstance> => instanceOf(gw, id);
  const until = (id: string, want: string, timeoutMs = 120_000): Promise<NotebookInstance> => waitForInstance(gw, id, want, timeoutMs);
  async function createRunning(name: string, image = IMAGE): Promise<NotebookInstance> {
    const res = await gw.api('/api/v1/notebooks', { method: 'POST', token: gw.adminToken, json: { name, image } });
    expect(res.status, await res.clone().text()).toBe(201);
    const inst = (await res.json()) as NotebookInstance;
    created.add(inst.id);
    return until(inst.id, 'RUNNING');
  }
  const save = (id: string, body: Record<string, unknown>): Promise<Response> =>
    gw.api(`/api/v1/notebooks/${id}/images`, { method: 'POST', token: gw.adminToken, json: body });
  const customImages = async (): Promise<CustomImage[]> =>
    ((await (await gw.api('/api/v1/custom-images', { token: gw.adminToken })).json()) as { items: CustomImage[] }).items;

  it('should carry pip --user packages and ~/.vscode-server into a new instance, with an empty ~/work', async () => {
    onTestFailed(async () => console.error(`${await dockerDump(PREFIX)}\n--- gateway ---\n${gw.output().slice(-3000)}`));
    const src = await createRunning('source');
    const wheel = await buildProbeWheel();
    const put = await gw.api(`/notebooks/${src.id}/api/contents/${wheel.name}`, {
      method: 'PUT', token: gw.adminToken, json: { type: 'file', format: 'base64', content: wheel.bytes.toString('base64') }
    });
    expect(put.status).toBe(201);
    const setup = await runCode(gw.url, gw.adminToken, src.id, [
      'import subprocess, sys, os, pathlib',
      `r = subprocess.run([sys.executable, '-m', 'pip', 'install', '--user', '--no-index', '--break-system-packages', '${wheel.name}'], capture_output=True, text=True)`,
      'print(r.returncode)',
      "p = pathlib.Path.home() / '.vscode-server' / 'extensions.txt'; p.parent.mkdir(exist_ok=True); p.write_text('ms-python.python\\n')",
      "pathlib.Path('data.txt').write_text('only in the volume')",
      'print(sorted(os.listdir(".")))'
    ].join('\n'));
    expect(setup.ok, setup.error).toBe(true);
    expect(setup.out).toBe(`0\n['data.txt', '${wheel.name}']\n`);

    const began = Date.now();
    const res = await save(src.id, { name: 'probe-env', tag: 'v1', description: 'probe wheel and VS Code settings' });
    expect(res.status, await res.clone().text()).toBe(201);
    const img = (await res.json()) as CustomImage;
    console.info(`save took ${Date.now() - began} ms`);
    expect(img).toMatchObject({ name: 'probe-env:v1', baseImage: IMAGE, sourceInstanceId: src.id });
    expect(img.sizeBytes).toBeGreaterThan(100e6);
    expect(img.push).toEqual({ status: 'pending', error: null });
    expect((await get(src.id)).status).toBe('RUNNING');

    // The agent token given to the source container is not in the saved image.
    const local = await docker.listImages({ filters: { label: [`nbgateway.custom-image=${img.id}`] } });
    expect(local).toHaveLength(1);
    const env = (await docker.getImage(local[0]!.Id).inspect()).Config.Env ?? [];
    expect(env.filter(e => e.startsWith('NBG_KG_TOKEN=') && e !== 'NBG_KG_TOKEN=')).toEqual([]);

    const listed = await customImages();
    expect(listed.map(i => i.name)).toContain('probe-env:v1');
    const catalogue = (await (await gw.api('/api/v1/images', { token: gw.adminToken })).json()) as { items: Array<{ name: string; custom: boolean; chips: string[] }> };
    expect(catalogue.items.find(i => i.name === 'probe-env:v1')).toMatchObject({ custom: true, chips: ['cpu'] });

    const copy = await createRunning('copy', 'probe-env:v1');
    const check = await runCode(gw.url, gw.adminToken, copy.id, [
      'import nbg_probe, os, pathlib',
      'print(nbg_probe.VALUE)',
      "print((pathlib.Path.home() / '.vscode-server' / 'extensions.txt').read_text().strip())",
      'print(os.listdir("."))'
    ].join('\n'));
    expect(check).toMatchObject({ ok: true, out: "42\nms-python.python\n[]\n" });

    // The push runs in the background; then pull it back by digest, as another Docker host would.
    const pushedImg = await waitFor(async () => {
      const got = (await (await gw.api(`/api/v1/custom-images/${img.id}`, { token: gw.adminToken })).json()) as CustomImage;
      if (got.push?.status === 'failed') throw new Error(`push failed: ${got.push.error}`);
      return got.push?.status === 'pushed' ? got : undefined;
    }, 'the push to the registry', 300_000, 500);
    expect(pushedImg.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    Object.assign(img, pushedImg);
    const pulled = `${registry.address}/${img.pushedRef!.slice(registry.address.length + 1).split(':')[0]}@${img.digest}`;
    await new Promise<void>((resolve, reject) =>
      docker.pull(pulled, (err: Error | null, stream: NodeJS.ReadableStream) =>
        err ? reject(err) : docker.modem.followProgress(stream, (e: Error | null) => (e ? reject(e) : resolve()))
      )
    );
    const pulledInfo = await docker.getImage(pulled).inspect();
    expect(pulledInfo.RepoDigests.some(d => d.endsWith(img.digest!))).toBe(true);
    await docker.getImage(pulled).remove({ noprune: true }).catch(() => undefined);

    // In use by "copy": cannot be deleted until that instance is gone.
    const refused = await gw.api(`/api/v1/custom-images/${img.id}`, { method: 'DELETE', token: gw.adminToken });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { message: string }).message).toContain('instance "copy"');
    await gw.api(`/api/v1/notebooks/${copy.id}/stop`, { method: 'POST', token: gw.adminToken });
    await until(copy.id, 'STOPPED');
    expect((await gw.api(`/api/v1/notebooks/${copy.id}`, { method: 'DELETE', token: gw.adminToken })).status).toBe(204);
    expect((await gw.api(`/api/v1/custom-images/${img.id}`, { method: 'DELETE', token: gw.adminToken })).status).toBe(204);
    expect(await docker.listImages({ filters: { label: [`nbgateway.custom-image=${img.id}`] } })).toEqual([]);
  });

  it('should refuse bad names, existing tags, root setuid files and stopped instances, registering nothing', async () => {
    onTestFailed(async () => console.error(`${await dockerDump(PREFIX)}\n--- gateway ---\n${gw.output().slice(-3000)}`));
    const src = await createRunning('refusals');
    const bad = await save(src.id, { name: 'Bad Name', tag: 'v1' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toContain('lowercase letters');
    expect((await save(src.id, { name: 'ok', tag: '-bad' })).status).toBe(400);

    expect((await save(src.id, { name: 'twice', tag: 'v1' })).status).toBe(201);
    const dup = await save(src.id, { name: 'twice', tag: 'v1' });
    expect(dup.status).toBe(409);
    expect(((await dup.json()) as { code: string }).code).toBe('NB_ERR_IMAGE_TAG_EXISTS');
    const replaced = await save(src.id, { name: 'twice', tag: 'v1', replace: true });
    expect(replaced.status).toBe(201);
    expect((await customImages()).filter(i => i.name === 'twice:v1')).toHaveLength(1);

    // A root-owned setuid file appears in the container (as an attacker with root would leave it).
    const exec = await docker.getContainer(`${PREFIX}${src.id}`).exec({ User: '0', Cmd: ['sh', '-c', 'cp /bin/true /usr/local/bin/nbg-suid && chmod 4755 /usr/local/bin/nbg-suid'] });
    await new Promise<void>((resolve, reject) => exec.start({}, (err, stream) => (err ? reject(err) : stream!.on('end', () => resolve()).resume())));
    const before = await docker.listImages({ filters: { label: ['nbgateway.custom-image'] } });
    const suid = await save(src.id, { name: 'with-suid', tag: 'v1' });
    expect(suid.status).toBe(400);
    const body = (await suid.json()) as { code: string; message: string };
    expect(body.code).toBe('NB_ERR_IMAGE_PRIVILEGED_FILES');
    expect(body.message).toContain('/usr/local/bin/nbg-suid');
    expect((await customImages()).map(i => i.name)).not.toContain('with-suid:v1');
    expect((await docker.listImages({ filters: { label: ['nbgateway.custom-image'] } })).length).toBe(before.length);
    expect((await get(src.id)).status).toBe('RUNNING');

    await gw.api(`/api/v1/notebooks/${src.id}/stop`, { method: 'POST', token: gw.adminToken });
    await until(src.id, 'STOPPED');
    const stopped = await save(src.id, { name: 'late', tag: 'v1' });
    expect(stopped.status).toBe(409);
    expect(((await stopped.json()) as { message: string }).message).toContain('save as image is allowed only when RUNNING');
  });

  it('should stream progress as server-sent events and refuse images over the size limit', async () => {
    // A second gateway on the same state with a 1 MB limit: every save is too large.
    const small = await startGatewayProcess({ ...dockerGatewayEnv(volumesDir, PREFIX), NBG_IMAGE_MAX_BYTES: String(1_000_000) }, { dataDir: gw.dataDir });
    try {
      const src = (await customImages()).length >= 0 ? await createRunning('sized') : undefined;
      const res = await fetch(`${small.url}/api/v1/notebooks/${src!.id}/images`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${small.adminToken}`, 'Content-Type': 'application/json', Accept: 'text/event-stream' },
        body: JSON.stringify({ name: 'too-big', tag: 'v1' })
      });
      expect(res.headers.get('content-type')).toContain('text/event-stream');
      const text = await res.text();
      expect(text).toContain('event: progress');
      const error = /event: error\ndata: (.*)\n/.exec(text);
      expect(error, text).not.toBeNull();
      expect(JSON.parse(error![1]!)).toMatchObject({ status: 400, code: 'NB_ERR_IMAGE_TOO_LARGE' });
      expect((await customImages()).map(i => i.name)).not.toContain('too-big:v1');
    } finally {
      await small.stop({ keepData: true });
    }
  });
});
