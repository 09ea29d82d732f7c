/**
 * The Docker runtime driver: each instance is a container from its preset image, running our
 * kernel gateway (injected read-only) as ma-user under tini, with `~/work` on a size-limited
 * volume and networking on its owner's own bridge network.
 *
 * #### Notes
 * - Stop keeps the container, so its writable layer (`pip install --user` into ~/.local)
 *   survives; delete removes the container and keeps the volume for the retention period;
 *   `purgeStorage` removes the volume.
 * - The driver is idempotent about the world (STYLE.md §6): it finds an instance's container
 *   by name whatever state it is given, adopts one that is running, and treats "already
 *   stopped" and "already gone" as success.
 * - A flavor change while stopped is applied with `docker update` when only CPU, memory or
 *   pids change; when devices, mounts or the image config change, the container is committed
 *   and recreated from that layer, so nothing the user installed is lost.
 */
import Docker from 'dockerode';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../../config';
import type { Logger } from '../../logger';
import type { Flavor } from '../../catalogue/flavors';
import type { ImageEntry } from '../../catalogue/images';
import {
  SpawnError, type DriverState, type Endpoint, type IRuntimeDriver, type InstanceSpec, type ProgressEvent, type RuntimeStatus, type StartOptions, type StartResult
} from '../driver';
import { assignAccelerators, devicesFromLabel, hostDevices } from './accelerators';
import { ASCEND_DRIVER_MOUNTS, CONTAINER, type AcceleratorAssignment, containerCreateOptions, describeExit, resourceUpdate } from './container-spec';
import { checkKernels, stoppedWhileStarting, waitForAgent } from './agent-readiness';
import { ContainerWatcher } from './docker-events';
import { DockerImageOps } from './image-ops';
import { LoopVolumes } from './loop-volumes';
import { blockCloudMetadata } from './metadata-block';
import { demuxDockerLog, lastLines, MAX_OUTPUT_BYTES } from '../output-tail';
import { UserNetworks, statusOf } from './user-networks';

/** Wiring of the Docker driver (from the gateway config, or from tests). */
export interface DockerDriverOptions {
  docker: Docker;
  /** Prefix of every container, network and image name this gateway creates (`nbg-`). */
  prefix: string;
  /** Extra labels on everything created (e.g. `nbgateway.test=1`). */
  labels: Record<string, string>;
  volumesDir: string;
  /** MiB per requested GB (1024; tests shrink it). */
  storageUnitMiB: number;
  pidsLimit: number;
  networkPool: string;
  /** Reject traffic from the network pool to 169.254.169.254 (`metadata-block.ts`). */
  blockCloudMetadata: boolean;
  networkBlockBits: number;
  /** The built kernel gateway and the Node binary mounted into containers. */
  agentDir: string;
  nodeBinary: string;
  stopTimeoutMs: number;
  log: Logger;
}

interface DockerState extends DriverState {
  v: 1;
  kind: 'docker';
  instanceId: string;
  containerId: string;
  network: string;
  ip: string;
  port: number;
  accelerators: string[];
}

type ContainerInfo = Docker.ContainerInspectInfo;

/**
 * `IRuntimeDriver` on dockerd; `init()` before use, `dispose()` stops watching (never stops instances).
 */
export class DockerDriver implements IRuntimeDriver {
  readonly kind = 'docker';
  readonly images: DockerImageOps;
  private readonly _volumes: LoopVolumes;
  private readonly _networks: UserNetworks;
  private readonly _watcher: ContainerWatcher;
  private readonly _labels: Record<string, string>;
  private _gpus: string[] = [];
  private _npus: string[] = [];
  private _nvidiaRuntime = false;
  private _hostCpus = Infinity;
  private _disposed = false;

  constructor(private readonly _o: DockerDriverOptions) {
    this._labels = { ..._o.labels, 'nbgateway.managed-by': _o.prefix };
    this._volumes = new LoopVolumes({ dir: _o.volumesDir, unitMiB: _o.storageUnitMiB, uid: 1000, gid: 100, log: _o.log });
    this._networks = new UserNetworks(_o.docker, { prefix: _o.prefix, labels: this._labels, pool: _o.networkPool, blockBits: _o.networkBlockBits, log: _o.log });
    this.images = new DockerImageOps(_o.docker, state => {
      if (!isDockerState(state)) throw new SpawnError('the instance has no Docker container', { reason: 'state', status: 409 });
      return state.containerId;
    });
    this._watcher = new ContainerWatcher(_o.docker, { labels: [`nbgateway.managed-by=${_o.prefix}`], log: _o.log });
  }

  /** Discovers accelerators and starts watching container events. */
  async init(): Promise<void> {
    const info = (await this._o.docker.info()) as { Runtimes?: Record<string, unknown>; NCPU?: number };
    this._hostCpus = info.NCPU || Infinity;
    this._nvidiaRuntime = Object.keys(info.Runtimes ?? {}).includes('nvidia');
    this._gpus = await hostDevices('gpu');
    this._npus = await hostDevices('ascend');
    await this._watcher.start();
    if (this._o.blockCloudMetadata) await blockCloudMetadata(this._o.networkPool, this._o.log);
    this._o.log.info({ gpus: this._gpus.length, npus: this._npus.length, nvidiaRuntime: this._nvidiaRuntime, prefix: this._o.prefix }, 'docker runtime ready');
  }

  unsupported(image: ImageEntry, flavor: Flavor): string | null {
    if (!image.chips.includes(flavor.chip)) return `image "${image.name}" supports ${image.chips.join('/')}, not ${flavor.chip}`;
    if (flavor.chip === 'gpu' && !this._nvidiaRuntime && this._gpus.length === 0) return 'this Docker host has no NVIDIA GPUs (no nvidia runtime, no /dev/nvidia*)';
    if (flavor.chip === 'ascend' && this._npus.length === 0) return 'this Docker host has no Ascend NPUs (no /dev/davinci*)';
    return null;
  }

  containerName(id: string): string {
    return `${this._o.prefix}${id}`;
  }

  async start(requested: InstanceSpec, previous: DriverState | null, opts: StartOptions): Promise<StartResult> {
    const log = this._o.log.child({ instance: requested.id });
    // Docker refuses more CPUs than the host has; a flavor larger than a small host (a laptop)
    // runs with all of the host's CPUs instead of failing.
    const spec = requested.flavor.cpus > this._hostCpus ? { ...requested, flavor: { ...requested.flavor, cpus: this._hostCpus } } : requested;
    if (spec !== requested) log.warn({ flavor: requested.flavor.id, hostCpus: this._hostCpus }, 'flavor has more CPUs than this host; using all of the host');
    // Milliseconds since the start at each step, logged with the result (where the time goes).
    const began = Date.now();
    const timings: Record<string, number> = {};
    const step = (s: ProgressEvent['step'], progress: number, message: string): void => {
      timings[s] = Date.now() - began;
      opts.onProgress?.({ step: s, progress, message });
    };
    const aborted = (): void => {
      if (opts.signal.aborted) throw opts.signal.reason instanceof Error ? opts.signal.reason : new Error('start aborted');
    };
    step('image', 5, `checking image ${spec.image.name}`);
    await this._checkImage(spec.image);
    aborted();
    step('storage', 15, `mounting ~/work (${spec.storage.sizeGB} GB)`);
    const workDir = await this._volumes.ensure(spec.id, spec.storage.sizeGB);
    timings.volume = Date.now() - began;
    const network = await this._networks.ensure(spec.owner.id);
    timings.network = Date.now() - began;
    aborted();

    let info = await this._inspect(this.containerName(spec.id));
    let startedHere = false;
    let accelerators = isDockerState(previous) ? previous.accelerators : [];
    try {
      if (info?.State.Running) {
        step('container', 40, 'adopting the running container');
        accelerators = this._acceleratorsOf(info);
      } else {
        const acc = await this._assign(spec, info, accelerators);
        accelerators = acc.ids;
        const want = containerCreateOptions({
          spec, name: this.containerName(spec.id), image: spec.image.ref, network, workDir,
          agentDir: this._o.agentDir, nodeBinary: this._o.nodeBinary, pidsLimit: this._o.pidsLimit,
          labels: this._labels, accelerators: acc, ascendMounts: acc.chip === 'ascend' ? await existing(ASCEND_DRIVER_MOUNTS) : []
        });
        if (!info) {
          step('container', 30, 'creating the container');
          info = await this._create(want);
        } else if (info.Config.Labels?.['nbgateway.spec-hash'] !== want.Labels!['nbgateway.spec-hash']) {
          step('container', 30, 'recreating the container with the new settings (keeping installed packages)');
          info = await this._recreate(spec.id, info, want);
        } else {
          await this._o.docker.getContainer(info.Id).update(resourceUpdate(want));
        }
        timings.created = Date.now() - began;
        step('container', 40, 'starting the container');
        await this._o.docker.getContainer(info.Id).start().catch(err => {
          if (statusOf(err) !== 304) throw err; // 304: already started
        });
        startedHere = true;
        info = (await this._inspect(info.Id))!;
      }
      if (!info.State.Running) throw await stoppedWhileStarting(this._o.docker, info.Id, info);
      const ip = info.NetworkSettings.Networks?.[network]?.IPAddress;
      if (!ip) throw new SpawnError(`the container has no address on network ${network}`, { reason: 'network' });
      this._watcher.record({ containerId: info.Id, instanceId: spec.id, running: true });
      const endpoint: Endpoint = { host: ip, port: CONTAINER.agentPort };
      const state: DockerState = { v: 1, kind: 'docker', instanceId: spec.id, containerId: info.Id, network, ip, port: CONTAINER.agentPort, accelerators };
      step('agent', 60, 'waiting for the kernel gateway');
      timings.started = Date.now() - began;
      await waitForAgent({ docker: this._o.docker, watcher: this._watcher, endpoint, spec, containerId: info.Id, signal: opts.signal });
      step('kernel', 85, 'checking the kernels');
      step('kernel', 95, await checkKernels(endpoint, spec));
      step('ready', 100, 'ready');
      log.info({ container: info.Id.slice(0, 12), ip, ms: timings }, 'container running');
      return { endpoint, state };
    } catch (err) {
      if (startedHere && info) await this._o.docker.getContainer(info.Id).stop({ t: 0 }).catch(() => undefined);
      throw err;
    }
  }

  async poll(state: DriverState): Promise<RuntimeStatus> {
    if (!isDockerState(state)) return { running: false, reason: 'the runtime state was not written by the Docker runtime' };
    const cached = this._watcher.synced ? this._watcher.get(state.containerId) : undefined;
    if (cached?.running) return { running: true, endpoint: { host: state.ip, port: state.port } };
    // Not running according to the cache (or no cache): confirm before reporting a death.
    const info = await this._inspect(state.containerId);
    if (!info) return { running: false, reason: 'the container was removed outside the gateway' };
    if (info.State.Running) {
      const ip = info.NetworkSettings.Networks?.[state.network]?.IPAddress || state.ip;
      return { running: true, endpoint: { host: ip, port: state.port } };
    }
    const memory = Number(info.Config.Labels?.['nbgateway.flavor-memory-gib']) || undefined;
    return { running: false, exitCode: info.State.ExitCode, reason: describeExit(info.State, memory) };
  }

  async stop(state: DriverState, opts: { now?: boolean } = {}): Promise<void> {
    if (!isDockerState(state)) return;
    try {
      await this._o.docker.getContainer(state.containerId).stop({ t: opts.now ? 0 : Math.ceil(this._o.stopTimeoutMs / 1000) });
    } catch (err) {
      // 304: already stopped; 404: already gone.
      if (statusOf(err) !== 304 && statusOf(err) !== 404) throw err;
    }
    await this._volumes.unmount(state.instanceId);
    this._o.log.debug({ instance: state.instanceId }, 'container stopped');
  }

  async remove(state: DriverState | null, spec: Pick<InstanceSpec, 'id'>): Promise<void> {
    const info = (await this._inspect(this.containerName(spec.id))) ?? (isDockerState(state) ? await this._inspect(state.containerId) : null);
    const owner = info?.Config.Labels?.['nbgateway.owner'];
    if (info) {
      try {
        await this._o.docker.getContainer(info.Id).remove({ force: true, v: false });
      } catch (err) {
        if (statusOf(err) !== 404 && !/already in progress/.test((err as Error).message)) throw err;
      }
    }
    await this._o.docker.getImage(this._layerRef(spec.id)).remove().catch(() => undefined);
    await this._volumes.unmount(spec.id);
    if (owner) await this._networks.releaseIfUnused(owner);
    this._o.log.info({ instance: spec.id }, 'container removed; volume kept');
  }

  async purgeStorage(spec: Pick<InstanceSpec, 'id'>): Promise<void> {
    await this._volumes.purge(spec.id);
  }

  async output(state: DriverState | null, spec: Pick<InstanceSpec, 'id'>, lines: number): Promise<string> {
    const info = (await this._inspect(this.containerName(spec.id))) ?? (isDockerState(state) ? await this._inspect(state.containerId) : null);
    if (!info) return '';
    const buf = (await this._o.docker.getContainer(info.Id).logs({ stdout: true, stderr: true, tail: lines })) as unknown as Buffer;
    const text = demuxDockerLog(buf);
    return text.length > MAX_OUTPUT_BYTES ? lastLines(text.slice(-MAX_OUTPUT_BYTES), lines) : text;
  }

  async abandon(spec: Pick<InstanceSpec, 'id'>): Promise<void> {
    const info = await this._inspect(this.containerName(spec.id));
    if (info?.State.Running) {
      this._o.log.warn({ instance: spec.id, container: info.Id.slice(0, 12) }, 'stopping a container left by a start that was never recorded');
      try {
        await this._o.docker.getContainer(info.Id).stop({ t: Math.ceil(this._o.stopTimeoutMs / 1000) });
      } catch (err) {
        if (statusOf(err) !== 304 && statusOf(err) !== 404) throw err;
      }
    }
    // The container (its writable layer) stays for the next start, as after a stop.
    await this._volumes.unmount(spec.id);
  }

  watch(listener: (instanceId: string) => void): () => void {
    return this._watcher.onExit(listener);
  }

  async dispose(): Promise<void> {
    if (this._disposed) return;
    this._disposed = true;
    this._watcher.dispose();
  }

  /** For tests and tools: the volume paths of an instance. */
  volumePaths(id: string): { file: string; mount: string } {
    return this._volumes.paths(id);
  }

  // ---- mechanism -------------------------------------------------------------------------

  private async _checkImage(image: ImageEntry): Promise<void> {
    try {
      await this._o.docker.getImage(image.ref).inspect();
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
      if (image.ownerId !== undefined) throw new SpawnError(`custom image ${image.name} (${image.ref}) is not on this Docker host any more`, { reason: 'image', status: 503 });
      throw new SpawnError(`image ${image.ref} is not built on this host; an administrator runs "images/build ${image.name}"`, { reason: 'image', status: 503 });
    }
  }

  private async _inspect(idOrName: string): Promise<ContainerInfo | null> {
    try {
      return await this._o.docker.getContainer(idOrName).inspect();
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw err;
    }
  }

  private async _create(options: Docker.ContainerCreateOptions): Promise<ContainerInfo> {
    const c = await this._o.docker.createContainer(options);
    return (await this._inspect(c.id))!;
  }

  /** Commits the stopped container's writable layer and creates a new container from it. */
  private async _recreate(id: string, old: ContainerInfo, want: Docker.ContainerCreateOptions): Promise<ContainerInfo> {
    const layer = this._layerRef(id);
    const previousLayer = await this._o.docker.getImage(layer).inspect().then(i => i.Id, () => null);
    const [repo, tag] = layer.split(':') as [string, string];
    await this._o.docker.getContainer(old.Id).commit({ repo, tag, comment: 'writable layer kept across a container recreate', pause: false });
    await this._o.docker.getContainer(old.Id).remove({ force: true, v: false });
    const created = await this._create({ ...want, Image: layer });
    if (previousLayer) await this._o.docker.getImage(previousLayer).remove().catch(() => undefined);
    return created;
  }

  private _layerRef(id: string): string {
    return `${this._o.prefix}layer:${id}`;
  }

  private async _assign(spec: InstanceSpec, info: ContainerInfo | null, previous: string[]): Promise<AcceleratorAssignment> {
    const chip = spec.flavor.chip;
    if (chip === 'cpu') return assignAccelerators(spec.flavor, spec.id, [], new Map());
    const host = chip === 'gpu' ? this._gpus : this._npus;
    const running = await this._o.docker.listContainers({ filters: { label: [`nbgateway.managed-by=${this._o.prefix}`, 'nbgateway.accelerators'] } });
    const inUse = new Map<string, string[]>();
    for (const c of running) inUse.set(c.Labels['nbgateway.instance'] ?? c.Id, devicesFromLabel(c.Labels['nbgateway.accelerators'], chip));
    const had = info ? devicesFromLabel(info.Config.Labels?.['nbgateway.accelerators'], chip) : previous;
    return assignAccelerators(spec.flavor, spec.id, host, inUse, had);
  }

  private _acceleratorsOf(info: ContainerInfo): string[] {
    const label = info.Config.Labels?.['nbgateway.accelerators'];
    return [...devicesFromLabel(label, 'gpu'), ...devicesFromLabel(label, 'ascend')];
  }
}

/**
 * The Docker driver when dockerd answers and the gateway can make volumes (root), else null.
 */
export async function createDockerDriverIfAvailable(config: Config, log: Logger): Promise<IRuntimeDriver | null> {
  const docker = new Docker();
  try {
    await Promise.race([docker.ping(), sleep(3_000).then(() => Promise.reject(new Error('timeout')))]);
  } catch {
    return null;
  }
  if (process.getuid?.() !== 0) {
    log.warn('dockerd answers, but the Docker runtime needs root (it loop-mounts size-limited volumes); using the local-process runtime');
    return null;
  }
  const driver = new DockerDriver({
    docker,
    prefix: config.dockerPrefix,
    labels: config.dockerLabels,
    volumesDir: config.volumesDir || join(config.dataDir, 'volumes'),
    storageUnitMiB: config.storageUnitMiB,
    pidsLimit: config.pidsLimit,
    networkPool: config.dockerNetworkPool,
    blockCloudMetadata: config.dockerBlockCloudMetadata,
    networkBlockBits: 26,
    agentDir: config.kernelGatewayDir,
    nodeBinary: process.execPath,
    stopTimeoutMs: config.stopTimeoutMs,
    log
  });
  await driver.init();
  return driver;
}

function isDockerState(s: DriverState | null): s is DockerState {
  return !!s && s.v === 1 && s.kind === 'docker' && typeof s.containerId === 'string' && typeof s.ip === 'string';
}

async function existing(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) if (await access(p).then(() => true, () => false)) out.push(p);
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));
