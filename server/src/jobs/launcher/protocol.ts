/**
 * The job-agent API: what the launcher (`nbg-job.cjs`, one per task) and the gateway say to
 * each other. Shared by both sides, so it holds types and constants only (the launcher
 * bundle must not pull in the server).
 *
 * Every call carries `Authorization: Bearer <version token>`; the token is valid while its
 * version is DEPLOYING or RUNNING, so a canceled or deleted version's launcher is refused.
 *
 * | Call | What |
 * |---|---|
 * | `GET  <api>/spec` | `AgentSpec`: what to run and with which environment |
 * | `GET  <api>/inputs/<code|data>` | `Manifest` of the code directory or the data |
 * | `GET  <api>/inputs/<code|data>/file?path=` | one file's bytes |
 * | `PUT  <api>/outputs/file?path=` | one output file → `<output URL>/V000n/<path>` |
 * | `POST <api>/events` | `TaskEvent`: started (host, port), finished (exit code), error |
 * | `GET  <api>/rendezvous?wait=ms` | `Rendezvous`: every task's `host:port` once all have started |
 */

/** Base path of the job-agent API on the gateway. */
export const AGENT_API_PREFIX = '/api/v1/job-agent';

export type InputKind = 'code' | 'data';

/** How the task's command runs on the node. */
export type AgentRuntime =
  | { kind: 'process'; python: string }
  | {
      kind: 'docker';
      /** Docker image reference (`nbgateway/<name>:latest`, or a custom image's). */
      image: string;
      cpus: number;
      memoryGiB: number;
      /**
       * Names of this version's containers (`<name>-<task>`) and of its bridge network: the
       * tasks reach each other by container name (`BATCH_CUSTOM<i>_HOSTS=<name>-<i>:<port>`).
       */
      name: string;
      /** Port each task's container may listen on for the others. */
      port: number;
      /** Labels on the containers and the network (who made them, which version). */
      labels: Record<string, string>;
    };

export interface AgentSpec {
  jobId: string;
  jobName: string;
  /** `V0001`. */
  version: string;
  tasks: number;
  /** Name of the code directory under `user-job-dir/` (the last directory of the code URL). */
  codeDir: string;
  /** Relative to the code directory. */
  bootFile: string;
  parameters: { name: string; value: string }[];
  hasData: boolean;
  /** `DLS_*` variables common to all tasks (the launcher adds `DLS_TASK_INDEX` and the hosts). */
  env: Record<string, string>;
  runtime: AgentRuntime;
}

export interface ManifestEntry {
  /** Relative to the input's directory. */
  path: string;
  size: number;
}

export interface Manifest {
  files: ManifestEntry[];
}

export type TaskEvent =
  | { task: number; event: 'started'; host: string; port: number }
  | { task: number; event: 'finished'; exitCode: number; message?: string }
  | { task: number; event: 'error'; message: string };

export interface Rendezvous {
  /** `host:port` of task i at index i; null until every task has started. */
  hosts: string[] | null;
}

/** Where things are under a task's working directory (`/home/work` inside a container). */
export const TASK_LAYOUT = {
  /** Code: `user-job-dir/<code dir>/` (SPEC §8). */
  code: 'user-job-dir',
  /** Downloaded data (`NBG_DATA_DIR`). */
  data: 'data',
  /** Written by the job, uploaded to `<output URL>/V000n/` (`NBG_OUTPUT_DIR`). */
  outputs: 'outputs'
} as const;

/** Files an adapter and the launcher share in a task's directory (`<job dir>/task-<i>/`). */
export const TASK_FILES = {
  /** The launcher's stdout and stderr, which carry the job's own output. */
  log: 'output.log',
  /** Written by the launcher when it ends: `ExitRecord`. */
  exit: 'exit.json',
  /** The working directory (`/home/work` of the job). */
  work: 'work'
} as const;

/** What `exit.json` holds. */
export interface ExitRecord {
  exitCode: number;
  /** The step that ended the task: the run itself, or staging before/after it. */
  phase: 'stage' | 'run' | 'upload' | 'canceled';
  message?: string;
}

/** Environment an adapter gives the launcher. */
export const LAUNCHER_ENV = {
  /** The gateway's job-agent API base URL. */
  api: 'NBG_JOB_API',
  /** A file holding the current API URL (rewritten when the gateway restarts); preferred over `api`. */
  apiFile: 'NBG_JOB_API_FILE',
  /** A 0600 file holding the version token. */
  tokenFile: 'NBG_JOB_TOKEN_FILE',
  /** The version's directory; the launcher works in `<dir>/task-<index>/`. */
  dir: 'NBG_JOB_DIR',
  /** The task index (Slurm tasks use `SLURM_PROCID` instead). */
  taskIndex: 'NBG_TASK_INDEX'
} as const;

/** A task's directory under the version's directory. */
export function taskDirName(index: number): string {
  return `task-${index}`;
}
