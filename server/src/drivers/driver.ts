/**
 * The runtime-driver seam: how instances run on some substrate (a local process, Docker).
 * It is JupyterHub's Spawner contract made stateless and typed (STYLE.md §5): the manager
 * owns concurrency and persistence, a driver owns mechanism and is idempotent about the world.
 */
import type { Flavor } from '../catalogue/flavors';
import type { ImageEntry } from '../catalogue/images';
import type { IImageOperations } from './image-ops';

/** Opaque, versioned JSON a driver needs to find its instance again (persisted by the manager). */
export type DriverState = { readonly v: number; readonly [key: string]: unknown };

/** Where the instance's agent (kernel gateway) listens. */
export interface Endpoint {
  host: string;
  port: number;
}

/** Everything a driver needs to run one instance. */
export interface InstanceSpec {
  id: string;
  name: string;
  owner: { id: string; name: string };
  image: ImageEntry;
  flavor: Flavor;
  storage: { type: 'local' | 'obs'; sizeGB: number };
  /** Path prefix the agent serves under, e.g. `/notebooks/<id>/`. */
  baseUrl: string;
  /** Token the agent requires from the gateway. */
  agentToken: string;
  /** Extra environment for the instance. */
  env: Record<string, string>;
}

export interface StartResult {
  endpoint: Endpoint;
  state: DriverState;
}

/** Discriminated, so "not running" is never confused with a falsy exit code. */
export type RuntimeStatus =
  | { running: true; endpoint: Endpoint }
  | { running: false; exitCode?: number; reason?: string };

/** A start step, for progress streams (`{ progress: 0–100, message }`). */
export interface ProgressEvent {
  progress: number;
  message: string;
  /** `kernel`: the agent answers and the image's kernels are available (Docker runtime). */
  step: 'image' | 'storage' | 'container' | 'agent' | 'kernel' | 'ready';
}

export interface StartOptions {
  signal: AbortSignal;
  onProgress?: (e: ProgressEvent) => void;
}

export interface IRuntimeDriver {
  readonly kind: string;

  /** Save-as-image operations, on runtimes that have images (Docker); absent otherwise. */
  readonly images?: IImageOperations;

  /**
   * Starts the instance and resolves when its agent answers.
   * @param previous - state from the last start, to reuse what survives a stop (a container's
   *   writable layer); null on the first start.
   * @throws SpawnError for failures to show the user (bad image, no resources).
   */
  start(spec: InstanceSpec, previous: DriverState | null, opts: StartOptions): Promise<StartResult>;

  /**
   * Checks whether the instance is running.
   *
   * #### Notes
   * Edge states: state from a start that never finished (reports not running); an instance
   * that vanished outside the gateway (not running, with a reason); a state written by
   * another driver kind (not running, reason says so).
   */
  poll(state: DriverState): Promise<RuntimeStatus>;

  /** Stops the instance; resolves when it is gone. Stopping a stopped instance succeeds. */
  stop(state: DriverState, opts?: { now?: boolean }): Promise<void>;

  /**
   * Removes the compute of a deleted instance (container, process). Its storage is kept
   * for the retention period; `purgeStorage` removes that later. Idempotent.
   */
  remove(state: DriverState | null, spec: Pick<InstanceSpec, 'id'>): Promise<void>;

  /**
   * The last `lines` lines the instance's agent and kernels wrote (stdout and stderr, across
   * its starts), at most `MAX_OUTPUT_BYTES`; '' when there is none (never started, removed).
   */
  output?(state: DriverState | null, spec: Pick<InstanceSpec, 'id'>, lines: number): Promise<string>;

  /** Removes an instance's storage (`~/work`) for good. Idempotent. */
  purgeStorage(spec: Pick<InstanceSpec, 'id'>): Promise<void>;

  /**
   * Stops whatever a start that never finished left running for an instance (the gateway
   * died between launching it and recording its state), found by the instance id alone.
   * Keeps what a stop keeps (storage; on Docker the container and its writable layer).
   * Idempotent; a no-op when nothing is running.
   */
  abandon?(spec: Pick<InstanceSpec, 'id'>): Promise<void>;

  /**
   * Why this driver cannot run an image/flavor combination (e.g. GPUs on the local-process
   * runtime), or null when it can. Checked before an instance is created.
   */
  unsupported?(image: ImageEntry, flavor: Flavor): string | null;

  /**
   * Subscribes to instances that stop outside the gateway's control (a process exit, a
   * Docker `die` event), so the manager notices within seconds instead of at the next poll.
   * @returns an unsubscribe function.
   */
  watch?(listener: (instanceId: string) => void): () => void;

  /** Releases watchers and handles; never stops instances. */
  dispose(): Promise<void>;
}

/**
 * A start failure to show the user: logged without a stack, labelled for metrics.
 */
export class SpawnError extends Error {
  readonly reason: string;
  readonly status: number;
  constructor(message: string, opts: { reason: string; status?: number }) {
    super(message);
    this.name = 'SpawnError';
    this.reason = opts.reason;
    this.status = opts.status ?? 500;
  }
}
