/**
 * InstanceSpec → Docker create options, including the GPU and Ascend paths that cannot run on
 * machines without that hardware.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_FLAVORS, type Flavor } from '../../src/catalogue/flavors';
import type { ImageEntry } from '../../src/catalogue/images';
import type { InstanceSpec } from '../../src/drivers/driver';
import { ASCEND_CONTROL_DEVICES, containerCreateOptions, describeExit, resourceUpdate, specHash, type AcceleratorAssignment } from '../../src/drivers/docker/container-spec';
import { assignAccelerators, devicesFromLabel, hostDevices } from '../../src/drivers/docker/accelerators';
import { subnetBlocks } from '../../src/drivers/docker/user-networks';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const flavor = (id: string): Flavor => DEFAULT_FLAVORS.find(f => f.id === id)!;
const image: ImageEntry = {
  name: 'pytorch1.13-cpu-debian12', engine: 'pytorch', engineVersion: '1.13', chips: ['cpu', 'gpu', 'ascend'], ssh: true, jupyterlab: true,
  description: '', ref: 'nbgateway/pytorch1.13-cpu-debian12:latest'
};
const spec = (f: Flavor, env: Record<string, string> = {}): InstanceSpec => ({
  id: 'abc123def456', name: 'nb', owner: { id: 'u-1', name: 'alice' }, image, flavor: f, storage: { type: 'local', sizeGB: 5 },
  baseUrl: '/notebooks/abc123def456/', agentToken: 'secret-token', env
});
const CPU: AcceleratorAssignment = { chip: 'cpu', ids: [], count: 0 };
const options = (s: InstanceSpec, accelerators: AcceleratorAssignment = CPU, ascendMounts: string[] = []) =>
  containerCreateOptions({
    spec: s, name: 'nbg-abc123def456', image: image.ref, network: 'nbg-user-u-1', workDir: '/var/lib/nbg/volumes/mnt/abc123def456',
    agentDir: '/opt/nbgateway/kernel-gateway/dist', nodeBinary: '/usr/bin/node', pidsLimit: 4096, labels: { 'nbgateway.managed-by': 'nbg-' },
    accelerators, ascendMounts
  });

describe('containerCreateOptions()', () => {
  it('should run the injected agent as ma-user under tini with the flavor limits and no privileges', () => {
    const o = options(spec(flavor('cpu.2u8g')));
    expect(o.User).toBe('1000:100');
    expect(o.Entrypoint).toEqual(['/usr/bin/tini', '-g', '--']);
    expect(o.Cmd).toEqual(['/opt/nbg/bin/node', '/opt/nbg/agent/main.cjs', '--host', '0.0.0.0', '--port', '8888', '--base-url', '/notebooks/abc123def456/', '--root-dir', '/home/ma-user/work']);
    expect(o.Env).toEqual(expect.arrayContaining(['NBG_KG_TOKEN=secret-token', 'NBG_INSTANCE_ID=abc123def456', 'HOME=/home/ma-user']));
    const h = o.HostConfig!;
    expect(h.NanoCpus).toBe(2_000_000_000);
    expect(h.Memory).toBe(8 * 1024 ** 3);
    expect(h.MemorySwap).toBe(h.Memory);
    expect(h.PidsLimit).toBe(4096);
    expect(h.CapDrop).toEqual(['ALL']);
    expect(h.SecurityOpt).toEqual(['no-new-privileges:true']);
    expect(h.Privileged).toBeUndefined();
    expect(h.RestartPolicy).toEqual({ Name: 'no' });
    expect(h.NetworkMode).toBe('nbg-user-u-1');
    expect(h.Mounts).toEqual([
      { Type: 'bind', Source: '/var/lib/nbg/volumes/mnt/abc123def456', Target: '/home/ma-user/work', ReadOnly: false, BindOptions: { Propagation: 'rprivate' } },
      { Type: 'bind', Source: '/opt/nbgateway/kernel-gateway/dist', Target: '/opt/nbg/agent', ReadOnly: true },
      { Type: 'bind', Source: '/usr/bin/node', Target: '/opt/nbg/bin/node', ReadOnly: true }
    ]);
    expect(h.DeviceRequests).toBeUndefined();
    expect(h.Devices).toBeUndefined();
    expect(o.Labels).toMatchObject({ 'nbgateway.instance': 'abc123def456', 'nbgateway.owner': 'u-1', 'nbgateway.managed-by': 'nbg-', 'nbgateway.flavor': 'cpu.2u8g' });
  });

  it('should not let instance env override the agent token or instance id', () => {
    const o = options(spec(flavor('cpu.2u8g'), { NBG_KG_TOKEN: 'forged', NBG_INSTANCE_ID: 'other', FOO: 'bar' }));
    expect(o.Env).toContain('NBG_KG_TOKEN=secret-token');
    expect(o.Env).not.toContain('NBG_KG_TOKEN=forged');
    expect(o.Env).toContain('FOO=bar');
  });

  it('should request the assigned GPUs by id, or N GPUs when the host list is unknown', () => {
    const byId = options(spec(flavor('gpu.2x')), { chip: 'gpu', ids: ['2', '3'], count: 2 }).HostConfig!;
    expect(byId.DeviceRequests).toEqual([{ Driver: 'nvidia', DeviceIDs: ['2', '3'], Capabilities: [['gpu']] }]);
    expect(byId.NanoCpus).toBe(16e9);
    const byCount = options(spec(flavor('gpu.1x')), { chip: 'gpu', ids: [], count: 1 });
    expect(byCount.HostConfig!.DeviceRequests).toEqual([{ Driver: 'nvidia', Count: 1, Capabilities: [['gpu']] }]);
    expect(byCount.Labels!['nbgateway.accelerators']).toBe('gpu:count=1');
  });

  it('should map the assigned Ascend NPUs, the driver devices and the driver mounts read-only', () => {
    const o = options(spec(flavor('ascend.1x')), { chip: 'ascend', ids: ['5'], count: 1 }, ['/usr/local/Ascend/driver', '/usr/local/sbin/npu-smi']);
    const h = o.HostConfig!;
    expect(h.Devices).toEqual([
      { PathOnHost: '/dev/davinci5', PathInContainer: '/dev/davinci5', CgroupPermissions: 'rwm' },
      ...ASCEND_CONTROL_DEVICES.map(d => ({ PathOnHost: d, PathInContainer: d, CgroupPermissions: 'rwm' }))
    ]);
    expect(h.Devices!.map((d: { PathOnHost: string }) => d.PathOnHost)).toEqual(['/dev/davinci5', '/dev/davinci_manager', '/dev/devmm_svm', '/dev/hisi_hdc']);
    expect(h.Mounts!.slice(3)).toEqual([
      { Type: 'bind', Source: '/usr/local/Ascend/driver', Target: '/usr/local/Ascend/driver', ReadOnly: true },
      { Type: 'bind', Source: '/usr/local/sbin/npu-smi', Target: '/usr/local/sbin/npu-smi', ReadOnly: true }
    ]);
    expect(o.Env).toContain('ASCEND_VISIBLE_DEVICES=5');
    expect(h.DeviceRequests).toBeUndefined();
    expect(h.CapDrop).toEqual(['ALL']);
    expect(o.Labels!['nbgateway.accelerators']).toBe('ascend:5');
  });

  it('should keep the spec hash for a CPU change of the same memory and change it for devices', () => {
    const a = options(spec(flavor('cpu.2u8g')));
    const b = options(spec({ ...flavor('cpu.2u8g'), id: 'cpu.4u8g', cpus: 4 }));
    expect(specHash(a)).toBe(specHash(b));
    expect(resourceUpdate(b)).toEqual({ NanoCpus: 4e9, Memory: 8 * 1024 ** 3, MemorySwap: 8 * 1024 ** 3, PidsLimit: 4096 });
    const gpu = options(spec(flavor('gpu.1x')), { chip: 'gpu', ids: ['0'], count: 1 });
    const otherGpu = options(spec(flavor('gpu.1x')), { chip: 'gpu', ids: ['1'], count: 1 });
    expect(specHash(gpu)).not.toBe(specHash(otherGpu));
    expect(a.Labels!['nbgateway.spec-hash']).toBe(specHash(a));
  });
});

describe('assignAccelerators()', () => {
  const gpu2 = flavor('gpu.2x');
  it('should give distinct free devices and keep the previous ones when still free', () => {
    const inUse = new Map([['other', ['0']]]);
    expect(assignAccelerators(gpu2, 'me', ['0', '1', '2', '3'], inUse).ids).toEqual(['1', '2']);
    expect(assignAccelerators(gpu2, 'me', ['0', '1', '2', '3'], inUse, ['2', '3']).ids).toEqual(['2', '3']);
    // Previous devices taken meanwhile: others are picked.
    expect(assignAccelerators(gpu2, 'me', ['0', '1', '2', '3'], new Map([['x', ['3']]]), ['2', '3']).ids).toEqual(['0', '1']);
    // Its own running container does not count against it.
    expect(assignAccelerators(gpu2, 'me', ['0', '1'], new Map([['me', ['0', '1']]]), ['0', '1']).ids).toEqual(['0', '1']);
  });

  it('should refuse with 503 when not enough devices are free or present', () => {
    expect(() => assignAccelerators(gpu2, 'me', ['0', '1'], new Map([['o', ['1']]]))).toThrow('all GPUs of this host are in use (1 of 2 free, 2 needed); try again later');
    expect(() => assignAccelerators(flavor('ascend.1x'), 'me', [], new Map())).toThrow('flavor ascend.1x needs 1 Ascend NPU(s) but this host has 0');
    try {
      assignAccelerators(gpu2, 'me', ['0'], new Map());
    } catch (err) {
      expect(err).toMatchObject({ reason: 'no-capacity', status: 503 });
    }
  });

  it('should fall back to a GPU count when the host devices are unknown, and give CPUs nothing', () => {
    expect(assignAccelerators(flavor('gpu.1x'), 'me', [], new Map())).toEqual({ chip: 'gpu', ids: [], count: 1 });
    expect(assignAccelerators(flavor('cpu.2u8g'), 'me', ['0'], new Map())).toEqual({ chip: 'cpu', ids: [], count: 0 });
  });

  it('should read devices from /dev and from labels', async () => {
    const dev = await mkdtemp(join(tmpdir(), 'nbg-dev-'));
    try {
      for (const f of ['davinci0', 'davinci10', 'davinci2', 'davinci_manager', 'nvidia1', 'nvidiactl', 'nvidia0']) await writeFile(join(dev, f), '');
      expect(await hostDevices('ascend', dev)).toEqual(['0', '2', '10']);
      expect(await hostDevices('gpu', dev)).toEqual(['0', '1']);
    } finally {
      await rm(dev, { recursive: true, force: true });
    }
    expect(devicesFromLabel('gpu:0,3', 'gpu')).toEqual(['0', '3']);
    expect(devicesFromLabel('gpu:count=2', 'gpu')).toEqual([]);
    expect(devicesFromLabel('ascend:1', 'gpu')).toEqual([]);
  });
});

describe('subnetBlocks()', () => {
  it('should split a pool into blocks and refuse bad pools', () => {
    const blocks = subnetBlocks('10.213.0.0/16', 26);
    expect(blocks).toHaveLength(1024);
    expect(blocks.slice(0, 3)).toEqual(['10.213.0.0/26', '10.213.0.64/26', '10.213.0.128/26']);
    expect(blocks.at(-1)).toBe('10.213.255.192/26');
    expect(() => subnetBlocks('10.213.0.0', 26)).toThrow('IPv4 CIDR');
    expect(() => subnetBlocks('10.0.0.0/28', 26)).toThrow('cannot split');
  });
});

describe('describeExit()', () => {
  it('should say why a container stopped', () => {
    expect(describeExit({ ExitCode: 137 })).toBe('the container was killed (SIGKILL, exit code 137) outside the gateway');
    expect(describeExit({ ExitCode: 137, OOMKilled: true }, 8)).toBe('it ran out of memory (the flavor allows 8 GiB) and was killed');
    expect(describeExit({ ExitCode: 1 })).toBe('the container exited with code 1');
  });
});
