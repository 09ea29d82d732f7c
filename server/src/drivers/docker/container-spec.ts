/**
 * InstanceSpec → Docker create options, as a pure function (unit-tested: GPU and Ascend paths
 * cannot run on machines without that hardware).
 *
 * #### Notes
 * - The agent is injected read-only: the built kernel gateway and the host's Node binary are
 *   bind-mounted under /opt/nbg, so any glibc image with ipykernel becomes a notebook image and
 *   "save as image" never captures the agent (ARCHITECTURE.md).
 * - The agent listens on a fixed port inside the container's own network namespace; the
 *   gateway reaches it at the container's address on the owner's network (no host port).
 * - Security: uid 1000 (ma-user), no-new-privileges, every capability dropped, a pids limit,
 *   and CPU/memory (no swap) from the flavor.
 * - `specHash` covers what `docker update` cannot change on an existing container (image,
 *   mounts, devices, environment, command). The driver recreates the container (keeping its
 *   writable layer) when it differs, and only updates resources otherwise.
 */
import { createHash } from 'node:crypto';
import type Docker from 'dockerode';
import type { InstanceSpec } from '../driver';

/** Where things are inside every instance container. */
export const CONTAINER = Object.freeze({
  user: '1000:100',
  home: '/home/ma-user',
  work: '/home/ma-user/work',
  agentDir: '/opt/nbg/agent',
  node: '/opt/nbg/bin/node',
  tini: '/usr/bin/tini',
  agentPort: 8888
});

/** Devices and mounts the Ascend driver needs in a container besides `/dev/davinci<n>`. */
export const ASCEND_CONTROL_DEVICES = ['/dev/davinci_manager', '/dev/devmm_svm', '/dev/hisi_hdc'] as const;
/** Host paths of the Ascend driver, mounted read-only when they exist on the host. */
export const ASCEND_DRIVER_MOUNTS = [
  '/usr/local/Ascend/driver',
  '/usr/local/sbin/npu-smi',
  '/usr/local/dcmi',
  '/etc/ascend_install.info'
] as const;

/** Accelerators assigned to one instance. */
export interface AcceleratorAssignment {
  chip: 'cpu' | 'gpu' | 'ascend';
  /** Device indexes on the host (`0`, `1`…); empty for GPUs means "any N" (Docker's Count). */
  ids: string[];
  count: number;
}

/** Everything `containerCreateOptions` needs; host paths are resolved by the driver. */
export interface ContainerSpecInput {
  spec: InstanceSpec;
  /** Container name (`<prefix><id>`). */
  name: string;
  /** Image to create from: the preset's ref, or a committed layer when recreating. */
  image: string;
  network: string;
  /** Host path mounted at ~/work (the instance's volume). */
  workDir: string;
  /** Host paths of the built kernel gateway and of the Node binary that runs it. */
  agentDir: string;
  nodeBinary: string;
  pidsLimit: number;
  /** Labels on top of the instance's own (managed-by, test markers). */
  labels: Record<string, string>;
  accelerators: AcceleratorAssignment;
  /** Ascend driver paths that exist on this host (a subset of ASCEND_DRIVER_MOUNTS). */
  ascendMounts?: readonly string[];
}

const GiB = 1024 ** 3;

/** The create options of an instance's container. */
export function containerCreateOptions(input: ContainerSpecInput): Docker.ContainerCreateOptions {
  const { spec } = input;
  const memory = Math.round(spec.flavor.memoryGiB * GiB);
  const env: Record<string, string> = {
    HOME: CONTAINER.home,
    USER: 'ma-user',
    SHELL: '/bin/bash',
    ...spec.env,
    NBG_INSTANCE_ID: spec.id,
    NBG_KG_TOKEN: spec.agentToken
  };
  const mounts: Docker.MountSettings[] = [
    { Type: 'bind', Source: input.workDir, Target: CONTAINER.work, ReadOnly: false, BindOptions: { Propagation: 'rprivate' } },
    { Type: 'bind', Source: input.agentDir, Target: CONTAINER.agentDir, ReadOnly: true },
    { Type: 'bind', Source: input.nodeBinary, Target: CONTAINER.node, ReadOnly: true }
  ];
  const host: Docker.HostConfig = {
    NetworkMode: input.network,
    Mounts: mounts,
    NanoCpus: Math.round(spec.flavor.cpus * 1e9),
    Memory: memory,
    MemorySwap: memory, // no swap beyond the flavor's memory
    PidsLimit: input.pidsLimit,
    // PyTorch DataLoader workers share tensors through /dev/shm; Docker's 64 MiB is too small.
    ShmSize: Math.min(Math.round(memory / 4), 8 * GiB),
    SecurityOpt: ['no-new-privileges:true'],
    CapDrop: ['ALL'],
    RestartPolicy: { Name: 'no' },
    Init: false,
    LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '2' } }
  };
  const acc = input.accelerators;
  if (acc.chip === 'gpu') {
    host.DeviceRequests = [
      acc.ids.length > 0
        ? { Driver: 'nvidia', DeviceIDs: acc.ids, Capabilities: [['gpu']] }
        : { Driver: 'nvidia', Count: acc.count, Capabilities: [['gpu']] }
    ];
  } else if (acc.chip === 'ascend') {
    host.Devices = [
      ...acc.ids.map(i => ({ PathOnHost: `/dev/davinci${i}`, PathInContainer: `/dev/davinci${i}`, CgroupPermissions: 'rwm' })),
      ...ASCEND_CONTROL_DEVICES.map(d => ({ PathOnHost: d, PathInContainer: d, CgroupPermissions: 'rwm' }))
    ];
    for (const p of input.ascendMounts ?? []) mounts.push({ Type: 'bind', Source: p, Target: p, ReadOnly: true });
    env.ASCEND_VISIBLE_DEVICES = acc.ids.join(',');
  }
  const labels: Record<string, string> = {
    ...input.labels,
    'nbgateway.instance': spec.id,
    'nbgateway.owner': spec.owner.id,
    'nbgateway.image': spec.image.name,
    'nbgateway.flavor': spec.flavor.id,
    'nbgateway.flavor-memory-gib': String(spec.flavor.memoryGiB),
    ...(acc.chip !== 'cpu' ? { 'nbgateway.accelerators': `${acc.chip}:${acc.ids.join(',') || `count=${acc.count}`}` } : {})
  };
  const options: Docker.ContainerCreateOptions = {
    name: input.name,
    Image: input.image,
    User: CONTAINER.user,
    WorkingDir: CONTAINER.work,
    Hostname: `notebook-${spec.id}`,
    Entrypoint: [CONTAINER.tini, '-g', '--'],
    Cmd: [
      CONTAINER.node, `${CONTAINER.agentDir}/main.cjs`,
      '--host', '0.0.0.0', '--port', String(CONTAINER.agentPort),
      '--base-url', spec.baseUrl, '--root-dir', CONTAINER.work
    ],
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    ExposedPorts: { [`${CONTAINER.agentPort}/tcp`]: {} },
    Labels: labels,
    HostConfig: host,
    NetworkingConfig: { EndpointsConfig: { [input.network]: {} } }
  };
  options.Labels!['nbgateway.spec-hash'] = specHash(options);
  return options;
}

/**
 * Hash of what cannot change on an existing container. Resource limits are left out: the
 * driver applies those with `docker update`.
 */
export function specHash(o: Docker.ContainerCreateOptions): string {
  const h = o.HostConfig ?? {};
  const fixed = {
    image: (o.Labels ?? {})['nbgateway.image'],
    user: o.User, entrypoint: o.Entrypoint, cmd: o.Cmd, env: [...(o.Env ?? [])].sort(),
    network: h.NetworkMode, mounts: h.Mounts, devices: h.Devices ?? [], deviceRequests: h.DeviceRequests ?? [],
    security: [h.SecurityOpt, h.CapDrop], shm: h.ShmSize
  };
  return createHash('sha256').update(JSON.stringify(fixed)).digest('hex').slice(0, 16);
}

/** The resource limits `docker update` applies to an existing container. */
export function resourceUpdate(o: Docker.ContainerCreateOptions): { NanoCpus?: number; Memory?: number; MemorySwap?: number; PidsLimit?: number } {
  const h = o.HostConfig ?? {};
  return { NanoCpus: h.NanoCpus, Memory: h.Memory, MemorySwap: h.MemorySwap, PidsLimit: h.PidsLimit };
}

/**
 * Why a container stopped, in words for the instance's status reason.
 * @param state - `State` of a container inspect.
 */
export function describeExit(state: { ExitCode?: number; OOMKilled?: boolean; Error?: string }, memoryGiB?: number): string {
  if (state.OOMKilled) return `it ran out of memory${memoryGiB ? ` (the flavor allows ${memoryGiB} GiB)` : ''} and was killed`;
  if (state.Error) return `the container failed: ${state.Error}`;
  const code = state.ExitCode ?? -1;
  if (code === 137) return 'the container was killed (SIGKILL, exit code 137) outside the gateway';
  if (code === 143) return 'the container was terminated (SIGTERM, exit code 143) outside the gateway';
  return `the container exited with code ${code}`;
}
