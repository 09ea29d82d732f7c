/**
 * The scheduler seam (STYLE.md §5, §8): where a training-job version's tasks run. One
 * contract over the embedded local scheduler, Slurm, and a controllable fake for unit tests.
 *
 * An adapter runs the job launcher (`nbg-job.cjs`, see `jobs/launcher/`) once per task with
 * the environment in `LaunchSpec`; the launcher fetches everything else (code, parameters,
 * `DLS_*` variables) from the gateway's job-agent API with the version's token. The manager
 * owns states and persistence; an adapter owns mechanism and is idempotent about the world.
 */

/** Opaque, versioned JSON an adapter needs to find a submission again (persisted by the manager). */
export type SchedulerHandle = { readonly v: number; readonly kind: string; readonly [key: string]: unknown };

/** Resources of one task (one "node" in SPEC §8 terms), from the flavor. */
export interface TaskResources {
  cpus: number;
  memoryGiB: number;
  /** GPUs or NPUs per task; 0 for CPU flavors. */
  accelerators: number;
  chip: 'cpu' | 'gpu' | 'ascend';
}

/** Everything an adapter needs to run one version. */
export interface LaunchSpec {
  /** Unique id of the version (`<job id>-V0001`): names files, Slurm jobs, containers. */
  id: string;
  /** Human-readable name for queues (`squeue`), e.g. `nbg:<owner>/<job>:V0001`. */
  displayName: string;
  /** Tasks to run (the job's node count); task i gets index i. */
  tasks: number;
  resources: TaskResources;
  /** Secret: the version's job-agent token. Adapters pass it in a 0600 file, never in argv or env. */
  token: string;
  /** Non-secret environment for the launcher (where the gateway's job-agent API is). */
  env: Record<string, string>;
}

/** Discriminated so "queued" and "finished with code 0" are never confused. */
export type SchedulerStatus =
  | { state: 'queued'; reason?: string }
  | { state: 'running' }
  | { state: 'succeeded' }
  | { state: 'failed'; reason: string; exitCode?: number }
  | { state: 'canceled' }
  /** The scheduler has no record of it (purged, or never reached it). */
  | { state: 'unknown'; reason: string };

/** A slice of one task's log. */
export interface LogChunk {
  text: string;
  /** Byte offset to ask for next. */
  nextOffset: number;
  /** Total bytes known so far. */
  size: number;
}

/** Thrown by `submit` when the adapter refuses more work (a full local queue). */
export class SchedulerFullError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchedulerFullError';
  }
}

export interface ISchedulerAdapter {
  readonly kind: string;

  /**
   * Hands a version to the scheduler; resolves once it is queued (not when it runs).
   * @throws SchedulerFullError when there is no room; other errors for refusals (bad resources).
   */
  submit(spec: LaunchSpec): Promise<SchedulerHandle>;

  /**
   * Where a submission is.
   *
   * #### Notes
   * Edge states: a handle from a previous gateway process (found again from its files or the
   * scheduler's records); a job the scheduler has forgotten (`unknown`); a handle written by
   * another adapter kind (`unknown`, the reason says so).
   */
  status(handle: SchedulerHandle): Promise<SchedulerStatus>;

  /** Cancels a submission; resolves when its tasks are gone. Canceling a finished one succeeds. */
  cancel(handle: SchedulerHandle): Promise<void>;

  /** Reads task `task`'s log from `offset` (at most `limit` bytes). Missing logs read as empty. */
  logs(handle: SchedulerHandle, opts: { task: number; offset?: number; limit?: number }): Promise<LogChunk>;

  /** Removes what the submission left on disk (logs, staged files). Idempotent. */
  remove(handle: SchedulerHandle): Promise<void>;

  /** Whether a new submission would be refused now, and why (shown before anything is created). */
  full?(): Promise<string | null>;

  /** Why this adapter cannot run tasks with these resources (e.g. GPUs as host processes), or null. */
  unsupported?(resources: TaskResources): string | null;

  /**
   * Tells launchers where the gateway's job-agent API is. Called when the gateway listens
   * (again): launchers re-read it before each call, so they follow a restarted gateway.
   */
  publishApiUrl(url: string): Promise<void>;

  /**
   * Subscribes to submissions that changed (a task exited), so the manager looks at once
   * instead of at its next poll.
   * @returns an unsubscribe function.
   */
  watch?(listener: (id: string) => void): () => void;

  /** Releases watchers and timers; never cancels submissions (jobs outlive the gateway). */
  dispose(): Promise<void>;
}

/** Files an adapter keeps in a submission's directory and its own. */
export const SUBMISSION_FILES = {
  /** The version token (0600), read by the launcher. */
  token: 'token',
  /** The current job-agent API URL, in the adapter's directory. */
  apiUrl: 'api-url'
} as const;
