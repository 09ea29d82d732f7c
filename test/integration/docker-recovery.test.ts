/**
 * Instances that change outside the gateway (issue 4): a container killed with `docker kill`
 * turns ERROR within seconds (Docker events) and starts again; a gateway restart adopts
 * running containers and marks those that vanished meanwhile ERROR with the reason.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NotebookInstance } from '../../server/src/api/types';
import { instanceOf, startGatewayProcess, waitForInstance, type GatewayProcess } from '../utils/gateway-process';
import { docker, dockerDump, dockerGatewayEnv, dockerUsable, requireImages, runCode, sweep, TEST_PREFIX } from './docker-helpers';

const usable = await dockerUsable();
const IMAGE = 'python3.11-cpu-debian12';

describe.skipIf(!usable)('Docker runtime: recovery', () => {
  let gw: GatewayProcess;
  let volumesDir: string;

  beforeAll(async () => {
    await requireImages(IMAGE);
    volumesDir = await mkdtemp(join(tmpdir(), 'nbtest-img-vol-'));
    // Liveness polling every 60 s: whatever turns ERROR sooner was noticed through events.
    gw = await startGatewayProcess({ ...dockerGatewayEnv(volumesDir), NBG_POLL_INTERVAL_MS: '60000' });
  });

  afterAll(async () => {
    await gw?.stop();
    await sweep(TEST_PREFIX, volumesDir);
  });

  const get = (id: string): Promise<NotebookInstance> => instanceOf(gw, id);
  const until = (id: string, want: string, timeoutMs = 120_000): Promise<NotebookInstance> => waitForInstance(gw, id, want, timeoutMs);
  const create = async (name: string): Promise<NotebookInstance> => {
    const res = await gw.api('/api/v1/notebooks', { method: 'POST', token: gw.adminToken, json: { name, image: IMAGE } });
    expect(res.status).toBe(201);
    const inst = (await res.json()) as NotebookInstance;
    await until(inst.id, 'RUNNING');
    return inst;
  };

  it('should turn a container killed with docker kill ERROR within seconds, and start it again', async () => {
    onTestFailed(async () => console.error(`${await dockerDump()}\n${gw.output().slice(-3000)}`));
    const inst = await create('killed');
    const killedAt = Date.now();
    await docker.getContainer(`${TEST_PREFIX}${inst.id}`).kill();
    const failed = await until(inst.id, 'ERROR', 10_000);
    expect(Date.now() - killedAt).toBeLessThan(5_000);
    expect(failed.statusReason).toBe('the instance stopped unexpectedly: the container was killed (SIGKILL, exit code 137) outside the gateway');
    expect(failed.allowedOperations).toContain('start');

    expect((await gw.api(`/api/v1/notebooks/${inst.id}/start`, { method: 'POST', token: gw.adminToken })).status).toBe(202);
    await until(inst.id, 'RUNNING');
    expect(await runCode(gw.url, gw.adminToken, inst.id, 'print(6*7)')).toMatchObject({ ok: true, out: '42\n' });
  }, 180_000);

  it('should adopt running containers after a gateway restart and mark vanished ones ERROR', async () => {
    onTestFailed(async () => console.error(`${await dockerDump()}\n${gw.output().slice(-3000)}`));
    const kept = await create('kept');
    const lost = await create('lost');
    const keptContainer = (await docker.getContainer(`${TEST_PREFIX}${kept.id}`).inspect()).Id;

    await gw.stop({ keepData: true });
    // Instances outlive the gateway; one container disappears while nobody watches.
    expect((await docker.getContainer(keptContainer).inspect()).State.Running).toBe(true);
    await docker.getContainer(`${TEST_PREFIX}${lost.id}`).remove({ force: true });

    gw = await startGatewayProcess({ ...dockerGatewayEnv(volumesDir), NBG_POLL_INTERVAL_MS: '60000' }, { dataDir: gw.dataDir });
    expect((await get(kept.id)).status).toBe('RUNNING');
    expect(await runCode(gw.url, gw.adminToken, kept.id, 'print("adopted")')).toMatchObject({ ok: true, out: 'adopted\n' });
    expect((await docker.getContainer(`${TEST_PREFIX}${kept.id}`).inspect()).Id).toBe(keptContainer);
    const vanished = await until(lost.id, 'ERROR', 10_000);
    expect(vanished.statusReason).toBe('the instance stopped unexpectedly: the container was removed outside the gateway');
    // Starting it again recreates the container on the same volume.
    expect((await gw.api(`/api/v1/notebooks/${lost.id}/start`, { method: 'POST', token: gw.adminToken })).status).toBe(202);
    await until(lost.id, 'RUNNING');
  }, 240_000);
});
