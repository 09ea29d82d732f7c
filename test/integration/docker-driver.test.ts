/**
 * The Docker driver against real dockerd: the driver contract, then what only a container
 * runtime promises: the security settings and limits on the container, the progress steps,
 * the read-only agent, the volume mounted at ~/work, and adoption of a running container.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeDriverContract, contractSpec } from '../../server/test/drivers/driver-contract';
import type { DockerDriver } from '../../server/src/drivers/docker/docker-driver';
import type { ProgressEvent } from '../../server/src/drivers/driver';
import { catalogueImage, docker, dockerDump, dockerUsable, requireImages, sweep, testDockerDriver, TEST_PREFIX } from './docker-helpers';

const usable = await dockerUsable();
const IMAGE = 'python3.11-cpu-debian12';

describe.skipIf(!usable)('DockerDriver', () => {
  const volumesDirs: string[] = [];
  beforeAll(async () => {
    await requireImages(IMAGE);
  });
  afterAll(async () => {
    for (const d of volumesDirs) await sweep(TEST_PREFIX, d);
    await sweep(TEST_PREFIX);
  });

  describeDriverContract('DockerDriver', async () => {
    const { driver, volumesDir } = await testDockerDriver();
    volumesDirs.push(volumesDir);
    onTestFailed(async () => console.error(await dockerDump()));
    return {
      driver,
      realAgent: true,
      kill: async state => {
        await docker.getContainer(state.containerId as string).kill();
      },
      dispose: async () => undefined
    };
  }, catalogueImage(IMAGE), { timeoutMs: 60_000 });

  describe('#start()', () => {
    let driver: DockerDriver;
    beforeAll(async () => {
      const made = await testDockerDriver();
      driver = made.driver;
      volumesDirs.push(made.volumesDir);
    });
    afterAll(async () => {
      await driver?.dispose();
    });

    it('should run the agent as ma-user, unprivileged and limited, with ~/work on the volume', async () => {
      onTestFailed(async () => console.error(await dockerDump()));
      const spec = contractSpec(catalogueImage(IMAGE));
      const events: ProgressEvent[] = [];
      const { state } = await driver.start(spec, null, { signal: AbortSignal.timeout(60_000), onProgress: e => events.push(e) });
      expect(new Set(events.map(e => e.step))).toEqual(new Set(['image', 'storage', 'container', 'agent', 'kernel', 'ready']));
      expect(events.find(e => e.step === 'kernel' && e.progress === 95)?.message).toMatch(/^kernel ready: Python 3\.11/);

      const info = await docker.getContainer(state.containerId as string).inspect();
      expect(info.Name).toBe(`/${TEST_PREFIX}${spec.id}`);
      expect(info.Config.User).toBe('1000:100');
      expect(info.HostConfig.CapDrop).toEqual(['ALL']);
      expect(info.HostConfig.SecurityOpt).toEqual(['no-new-privileges:true']);
      expect(info.HostConfig.NanoCpus).toBe(2e9);
      expect(info.HostConfig.Memory).toBe(8 * 1024 ** 3);
      expect(info.HostConfig.PidsLimit).toBe(1024);
      expect(info.Config.Labels).toMatchObject({ 'nbgateway.instance': spec.id, 'nbgateway.owner': spec.owner.id, 'nbgateway.test': '1' });

      // Inside: who runs, what is mounted read-only, where ~/work lives and how big it is.
      const exec = async (cmd: string): Promise<string> => {
        const e = await docker.getContainer(state.containerId as string).exec({ Cmd: ['sh', '-c', cmd], AttachStdout: true, AttachStderr: true, User: '1000:100' });
        const stream = await e.start({});
        const chunks: Buffer[] = [];
        await new Promise<void>(resolve => {
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => resolve());
        });
        // Strip the 8-byte multiplexing headers.
        const buf = Buffer.concat(chunks);
        let out = '';
        for (let i = 0; i + 8 <= buf.length; i += 8 + buf.readUInt32BE(i + 4)) out += buf.subarray(i + 8, i + 8 + buf.readUInt32BE(i + 4)).toString();
        return out.trim();
      };
      expect(await exec('ps -o user= -p 1; ps -o user=,args= -C node | head -1')).toMatch(/^ma-user\nma-user\s+\/opt\/nbg\/bin\/node \/opt\/nbg\/agent\/main\.cjs/);
      expect(await exec('ps -o args= -p 1')).toMatch(/^\/usr\/bin\/tini -g --/);
      expect(await exec('touch /opt/nbg/agent/x 2>&1; echo rc=$?')).toMatch(/Read-only file system[\s\S]*rc=1/);
      expect(await exec('grep CapEff /proc/self/status')).toBe('CapEff:\t0000000000000000');
      expect(await exec('grep NoNewPrivs /proc/self/status')).toBe('NoNewPrivs:\t1');
      // 5 GB at the test unit of 16 MiB per GB: an 80 MiB ext4 filesystem owned by ma-user.
      const df = await exec("df -B1M --output=size,target /home/ma-user/work | tail -1; stat -c '%U %a' /home/ma-user/work");
      const [size, target] = df.split('\n')[0]!.trim().split(/\s+/);
      expect(target).toBe('/home/ma-user/work');
      expect(Number(size)).toBeGreaterThan(60);
      expect(Number(size)).toBeLessThanOrEqual(80);
      expect(df.split('\n')[1]).toBe('ma-user 755');

      // What the agent wrote, from the container's log (GET /notebooks/{id}/logs).
      expect(await driver.output(state, spec, 50)).toMatch(/listening/);
      await driver.stop(state, { now: true });
      await driver.remove(state, spec);
      expect(await driver.output(state, spec, 50)).toBe('');
      expect(await driver.volumePaths(spec.id)).toBeTruthy();
      await driver.purgeStorage(spec);
    }, 120_000);

    it('should adopt a running container instead of starting another', async () => {
      const spec = contractSpec(catalogueImage(IMAGE));
      const first = await driver.start(spec, null, { signal: AbortSignal.timeout(60_000) });
      const events: ProgressEvent[] = [];
      const again = await driver.start(spec, null, { signal: AbortSignal.timeout(60_000), onProgress: e => events.push(e) });
      expect(again.state.containerId).toBe(first.state.containerId);
      expect(events.some(e => e.message === 'adopting the running container')).toBe(true);
      await driver.remove(again.state, spec);
      await driver.purgeStorage(spec);
    }, 120_000);

    it('should fail a start at once when the container dies, with its exit and last log lines', async () => {
      // The agent's "node" is a shell script that complains and exits.
      const dir = await mkdtemp(join(tmpdir(), 'nbtest-img-node-'));
      const fake = join(dir, 'node');
      await writeFile(fake, '#!/bin/sh\necho "agent cannot start: $1" >&2\nexit 3\n', { mode: 0o755 });
      const { driver: broken, volumesDir } = await testDockerDriver({ nodeBinary: fake });
      volumesDirs.push(volumesDir, dir);
      const spec = contractSpec(catalogueImage(IMAGE));
      const t0 = Date.now();
      await expect(broken.start(spec, null, { signal: AbortSignal.timeout(60_000) })).rejects.toThrow(
        /^the container stopped while the kernel gateway was starting: the container exited with code 3\nagent cannot start: \/opt\/nbg\/agent\/main\.cjs$/
      );
      expect(Date.now() - t0).toBeLessThan(10_000);
      await broken.remove(null, spec);
      await broken.purgeStorage(spec);
      await broken.dispose();
    }, 60_000);

    it('should refuse an image without a Jupyter kernel', async () => {
      const spec = contractSpec({ ...catalogueImage(IMAGE), name: 'base-debian12', ref: 'nbgateway/base:debian12' });
      await expect(driver.start(spec, null, { signal: AbortSignal.timeout(60_000) })).rejects.toThrow(
        'image base-debian12 has no Jupyter kernel (no kernelspec with ipykernel); it cannot run notebooks'
      );
      await driver.remove(null, spec);
      await driver.purgeStorage(spec);
    }, 60_000);

    it('should refuse GPU and Ascend flavors on a host without them', async () => {
      const { existsSync } = await import('node:fs');
      const { DEFAULT_FLAVORS } = await import('../../server/src/catalogue/flavors');
      const flavor = (id: string) => DEFAULT_FLAVORS.find(f => f.id === id)!;
      expect(driver.unsupported(catalogueImage(IMAGE), flavor('cpu.2u8g'))).toBeNull();
      expect(driver.unsupported(catalogueImage(IMAGE), flavor('gpu.1x'))).toBe('image "python3.11-cpu-debian12" supports cpu, not gpu');
      if (!existsSync('/dev/nvidia0') && !existsSync('/dev/davinci0')) {
        expect(driver.unsupported(catalogueImage('pytorch2.1-cuda12.1-ubuntu22.04'), flavor('gpu.1x'))).toBe('this Docker host has no NVIDIA GPUs (no nvidia runtime, no /dev/nvidia*)');
        expect(driver.unsupported(catalogueImage('mindspore2.2-cann7.0-euleros2.10'), flavor('ascend.1x'))).toBe('this Docker host has no Ascend NPUs (no /dev/davinci*)');
      }
    });

    it('should refuse an image that is not built, naming the command that builds it', async () => {
      const spec = contractSpec({ ...catalogueImage(IMAGE), name: 'missing1.0-cpu-debian12', ref: 'nbgateway/missing1.0-cpu-debian12:latest' });
      await expect(driver.start(spec, null, { signal: AbortSignal.timeout(10_000) })).rejects.toThrow(
        'image nbgateway/missing1.0-cpu-debian12:latest is not built on this host; an administrator runs "images/build missing1.0-cpu-debian12"'
      );
    });
  });
});
