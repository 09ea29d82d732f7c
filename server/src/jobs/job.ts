/**
 * Training-job types (SPEC §8): a job is a named series of versions (`V0001`, `V0002`, …);
 * each version is one run with its own configuration, state, scheduler submission and logs.
 */
import type { SchedulerHandle } from '../scheduler/scheduler';

export const JOB_STATUSES = ['INITIALIZING', 'DEPLOYING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELED'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** A version in one of these states never changes state again. */
export const TERMINAL_STATUSES: readonly JobStatus[] = ['SUCCEEDED', 'FAILED', 'CANCELED'];

/** States in which a version holds scheduler resources (queued or running). */
export const ACTIVE_STATUSES: readonly JobStatus[] = ['DEPLOYING', 'RUNNING'];

/** Events a job's webhook can receive (SPEC §8, ModelArts' names). */
export const JOB_EVENTS = ['OnJobRunning', 'OnJobSucceeded', 'OnJobFailed'] as const;
export type JobEvent = (typeof JOB_EVENTS)[number];

/** A run parameter, passed to the boot file as `--name=value`, in order. */
export interface JobParameter {
  name: string;
  value: string;
}

/** Where the code of a version came from. */
export type JobSource =
  | { kind: 'url' }
  | { kind: 'notebook'; instanceId: string; notebook: string };

/** What one version runs; "modify and rerun" copies it and changes some fields. */
export interface VersionConfig {
  /** Catalogue name of the image (a preset or a custom image). */
  image: string;
  flavor: string;
  /** 1 = standalone; more = distributed, one task per node. */
  nodeCount: number;
  /** `s3://bucket/prefix/` of the code directory (always ends with `/`). */
  codeUrl: string;
  /** Path of the boot file relative to the code directory. */
  bootFile: string;
  parameters: JobParameter[];
  /** `s3://bucket/prefix/` of the data, downloaded before the run; null when none. */
  dataUrl: string | null;
  /** `s3://bucket/prefix/`: outputs go to `<outputUrl>V000n/`. */
  outputUrl: string;
  /** `s3://bucket/prefix/`: logs are copied to `<logUrl>V000n/` when the version ends; null when none. */
  logUrl: string | null;
  source: JobSource;
}

export interface WebhookConfig {
  url: string;
  events: JobEvent[];
  /** When set, deliveries carry `X-NBG-Signature: sha256=<HMAC of the body>`. Never returned. */
  secret: string | null;
}

/** A job as stored. */
export interface JobRecord {
  id: string;
  ownerId: string;
  ownerName: string;
  name: string;
  description: string;
  webhook: WebhookConfig | null;
  latestVersion: number;
  createdAt: number;
  updatedAt: number;
}

/** A version as stored. `token` and `handle` never leave the server. */
export interface VersionRecord {
  /** `<job id>-V0001`: unique, names scheduler submissions and files. */
  id: string;
  jobId: string;
  /** 1, 2, … (shown as V0001, V0002, …). */
  version: number;
  status: JobStatus;
  statusReason: string | null;
  config: VersionConfig;
  scheduler: string;
  handle: SchedulerHandle | null;
  /** The job-agent token of its launchers (like an instance's agent token, kept to resubmit after a restart). */
  token: string;
  /** Replica doing background work on it (initializing, finishing), if any. */
  pending: string | null;
  createdAt: number;
  updatedAt: number;
  submittedAt: number | null;
  startedAt: number | null;
  finishedAt: number | null;
  exitCode: number | null;
}

/** What a task of a running version reported through the job-agent API. */
export interface TaskReport {
  task: number;
  state: 'started' | 'finished' | 'error';
  host: string | null;
  port: number | null;
  exitCode: number | null;
  message: string | null;
  updatedAt: number;
}

/** `V0001` for 1. */
export function versionLabel(n: number): string {
  return `V${String(n).padStart(4, '0')}`;
}

/** 1 for `V0001`, `v1` or `1`; null when it is not a version. */
export function parseVersionLabel(s: string): number | null {
  const m = /^[Vv]?(\d{1,6})$/.exec(s);
  if (!m) return null;
  const n = Number(m[1]);
  return n >= 1 ? n : null;
}

/** The id of version `n` of a job. */
export function versionId(jobId: string, n: number): string {
  return `${jobId}-${versionLabel(n)}`;
}
