/**
 * An instance's life on Docker through the gateway's REST API and proxy (issue 4): create the
 * PyTorch image → RUNNING → import torch in a kernel → `pip install --user` a wheel built here
 * → stop → start → the package is still importable (the container's writable layer survived)
 * → delete: the container goes, the ~/work volume stays for the retention period.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NotebookInstance } from '../../server/src/api/types';
import { startGatewayProcess, waitForInstance, type GatewayProcess } from '../utils/gateway-process';
import { buildProbeWheel, docker, dockerDump, dockerGatewayEnv, dockerUsable, requireImages, runCode, sweep, TEST_PREFIX } from './docker-helpers';

const usable = await dockerUsable();
const IMAGE = 'pytorch1.13-cpu-debian12';

describe.skipIf(!usable)('Docker runtime: instance lifecycle', () => {
  let gw: GatewayProcess;
  let volumesDir: string;

  beforeAll(async () => {
    await requireImages(IMAGE, 'python3.11-cpu-debian12');
    volumesDir = await mkdtemp(join(tmpdir(), 'nbtest-img-vol-'));
    gw = await startGatewayProcess(dockerGatewayEnv(volumesDir));
  });

  afterAll(async () => {
    await gw?.stop();
    await sweep(TEST_PREFIX, volumesDir);
  });

  const until = (id: string, want: string, timeoutMs = 120_000): Promise<NotebookInstance> => waitForInstance(gw, id, want, timeoutMs);

  it('should keep a pip --user package across stop and start, and keep the volume after delete', async () => {
    onTestFailed(async () => console.error(`${await dockerDump()}\n--- gateway ---\n${gw.output().slice(-3000)}`));
    const created = await gw.api('/api/v1/notebooks', { method: 'POST', token: gw.adminToken, json: { name: 'torch', image: IMAGE } });
    expect(created.status).toBe(201);
    const inst = (await created.json()) as NotebookInstance;
    expect(inst.runtime).toBe('docker');
    await until(inst.id, 'RUNNING');

    // Progress of the start, as clients see it.
    const progress = (await (await gw.api(`/api/v1/notebooks/${inst.id}/progress`, { token: gw.adminToken })).json()) as { events: Array<{ step: string; message: string }> };
    expect(progress.events.map(e => e.step)).toEqual(expect.arrayContaining(['image', 'storage', 'container', 'agent', 'kernel', 'ready']));
    expect(progress.events.find(e => e.step === 'kernel' && /kernel ready/.test(e.message))?.message).toContain('PyTorch 1.13');

    // The engine environment has torch; the plain one does not.
    const torch = await runCode(gw.url, gw.adminToken, inst.id, 'import torch\nprint(torch.__version__.split("+")[0][:4], torch.ones(3).sum().item())');
    expect(torch).toMatchObject({ ok: true, out: '1.13 3.0\n' });
    const plain = await runCode(gw.url, gw.adminToken, inst.id, 'import importlib.util, numpy, pandas\nprint(importlib.util.find_spec("torch") is None)', 'python3-plain');
    expect(plain).toMatchObject({ ok: true, out: 'True\n' });

    // A wheel built here goes in through the kernel and is installed with pip --user (offline).
    const wheel = await buildProbeWheel();
    const install = await runCode(gw.url, gw.adminToken, inst.id, [
      'import base64, subprocess, sys, os',
      `path = os.path.expanduser("~/work/${wheel.name}")`,
      `open(path, "wb").write(base64.b64decode("${wheel.bytes.toString('base64')}"))`,
      'r = subprocess.run([sys.executable, "-m", "pip", "install", "--user", "--no-index", "--no-deps", path], capture_output=True, text=True)',
      'print(r.returncode, r.stdout[-300:], r.stderr[-500:])'
    ].join('\n'));
    expect(install.ok).toBe(true);
    expect(install.out).toMatch(/^0 .*Successfully installed nbg-probe-1\.0/s);
    const probe = 'import nbg_probe\nprint(nbg_probe.VALUE, nbg_probe.__file__)';
    expect((await runCode(gw.url, gw.adminToken, inst.id, probe)).out).toMatch(/^42 \/home\/ma-user\/\.local\/lib\/python3\.11\/site-packages\/nbg_probe\/__init__\.py/);

    // Stop keeps the container (exited), start brings the same one back.
    const containerId = (await docker.getContainer(`${TEST_PREFIX}${inst.id}`).inspect()).Id;
    expect((await gw.api(`/api/v1/notebooks/${inst.id}/stop`, { method: 'POST', token: gw.adminToken })).status).toBe(202);
    await until(inst.id, 'STOPPED');
    const stopped = await docker.getContainer(containerId).inspect();
    expect(stopped.State.Running).toBe(false);
    expect((await gw.api(`/api/v1/notebooks/${inst.id}/start`, { method: 'POST', token: gw.adminToken })).status).toBe(202);
    await until(inst.id, 'RUNNING');
    expect((await docker.getContainer(`${TEST_PREFIX}${inst.id}`).inspect()).Id).toBe(containerId);
    expect((await runCode(gw.url, gw.adminToken, inst.id, probe)).out).toMatch(/^42 \/home\/ma-user\/\.local\//);
    // ~/work survived too (the wheel file is on the volume).
    expect((await runCode(gw.url, gw.adminToken, inst.id, `import os\nprint(os.path.getsize(os.path.expanduser("~/work/${wheel.name}")))`)).out).toBe(`${wheel.bytes.length}\n`);

    // Delete: container removed, volume file kept (retention), unmounted.
    await gw.api(`/api/v1/notebooks/${inst.id}/stop`, { method: 'POST', token: gw.adminToken });
    await until(inst.id, 'STOPPED');
    expect((await gw.api(`/api/v1/notebooks/${inst.id}`, { method: 'DELETE', token: gw.adminToken })).status).toBe(204);
    await expect(docker.getContainer(containerId).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect((await stat(join(volumesDir, `${inst.id}.ext4`))).isFile()).toBe(true);
  }, 300_000);

  it('should apply a flavor change on the next start and keep the writable layer', async () => {
    onTestFailed(async () => console.error(`${await dockerDump()}\n--- gateway ---\n${gw.output().slice(-3000)}`));
    const created = await gw.api('/api/v1/notebooks', { method: 'POST', token: gw.adminToken, json: { name: 'resize', image: 'python3.11-cpu-debian12', flavor: 'cpu.2u8g' } });
    const inst = (await created.json()) as NotebookInstance;
    await until(inst.id, 'RUNNING');
    // A file in the container's own layer (not on the ~/work volume).
    const mark = await runCode(gw.url, gw.adminToken, inst.id, 'import os\nos.makedirs(os.path.expanduser("~/.config"), exist_ok=True)\nopen(os.path.expanduser("~/.config/marker"), "w").write("kept")');
    expect(mark.ok).toBe(true);
    const before = await docker.getContainer(`${TEST_PREFIX}${inst.id}`).inspect();
    await gw.api(`/api/v1/notebooks/${inst.id}/stop`, { method: 'POST', token: gw.adminToken });
    await until(inst.id, 'STOPPED');
    const patched = await gw.api(`/api/v1/notebooks/${inst.id}`, { method: 'PATCH', token: gw.adminToken, json: { flavor: 'cpu.8u32g' } });
    expect(patched.status).toBe(200);
    await gw.api(`/api/v1/notebooks/${inst.id}/start`, { method: 'POST', token: gw.adminToken });
    await until(inst.id, 'RUNNING');
    const after = await docker.getContainer(`${TEST_PREFIX}${inst.id}`).inspect();
    // More memory changes /dev/shm, which only a new container can have: recreated from a commit.
    expect(after.Id).not.toBe(before.Id);
    expect(after.HostConfig.Memory).toBe(32 * 1024 ** 3);
    const hostCpus = ((await docker.info()) as { NCPU: number }).NCPU;
    expect(after.HostConfig.NanoCpus).toBe(Math.min(8, hostCpus) * 1e9);
    expect((await runCode(gw.url, gw.adminToken, inst.id, 'import os\nprint(open(os.path.expanduser("~/.config/marker")).read())')).out).toBe('kept\n');
    await gw.api(`/api/v1/notebooks/${inst.id}/stop`, { method: 'POST', token: gw.adminToken });
    await until(inst.id, 'STOPPED');
    expect((await gw.api(`/api/v1/notebooks/${inst.id}`, { method: 'DELETE', token: gw.adminToken })).status).toBe(204);
    // The committed layer goes with the instance.
    await expect(docker.getImage(`${TEST_PREFIX}layer:${inst.id}`).inspect()).rejects.toMatchObject({ statusCode: 404 });
  }, 300_000);
});
