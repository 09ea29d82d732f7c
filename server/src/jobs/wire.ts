/**
 * Wire types of the training-job API (`/api/v1/jobs`), imported with `import type` by the
 * console and the CLI, and the mapping from stored records. Tokens, scheduler handles and
 * webhook secrets stay behind.
 */
import type { JobParameter, JobRecord, JobSource, JobStatus, TaskReport, VersionRecord } from './job';
import { versionLabel } from './job';
import { allowedJobOperations, type JobOperation } from './state-machine';
import type { JobEvent } from './job';

export interface TrainingJobVersion {
  jobId: string;
  /** `V0001`. */
  version: string;
  status: JobStatus;
  statusReason: string | null;
  /** Operations allowed on this version now (SPEC §8). */
  allowedOperations: JobOperation[];
  image: string;
  flavor: string;
  nodeCount: number;
  codeUrl: string;
  bootFile: string;
  parameters: JobParameter[];
  dataUrl: string | null;
  /** Where this version's outputs go: `<job output URL>/V000n/`. */
  outputUrl: string;
  /** Where this version's logs are copied when it ends: `<job log URL>/V000n/`; null without a log URL. */
  logUrl: string | null;
  source: JobSource;
  scheduler: string;
  createdAt: string;
  submittedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  /** Seconds between start and end (or now, while running). */
  durationSeconds: number | null;
  exitCode: number | null;
  /** What each task reported, by index. */
  tasks: { index: number; state: TaskReport['state']; host: string | null; exitCode: number | null; message: string | null }[];
}

export interface TrainingJob {
  id: string;
  name: string;
  description: string;
  owner: { id: string; name: string };
  /** The latest version's state. */
  status: JobStatus | null;
  latestVersion: string;
  webhook: { url: string; events: JobEvent[]; signed: boolean } | null;
  createdAt: string;
  updatedAt: string;
  /** The latest version. */
  version: TrainingJobVersion | null;
  /** Things the submitter should know (e.g. where notebook packages come from). */
  notices?: string[];
}

const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());

export function versionToWire(v: VersionRecord, tasks: readonly TaskReport[] = []): TrainingJobVersion {
  const label = versionLabel(v.version);
  const end = v.finishedAt ?? (v.startedAt !== null ? Date.now() : null);
  return {
    jobId: v.jobId,
    version: label,
    status: v.status,
    statusReason: v.statusReason,
    allowedOperations: allowedJobOperations(v.status),
    image: v.config.image,
    flavor: v.config.flavor,
    nodeCount: v.config.nodeCount,
    codeUrl: v.config.codeUrl,
    bootFile: v.config.bootFile,
    parameters: v.config.parameters,
    dataUrl: v.config.dataUrl,
    outputUrl: `${v.config.outputUrl}${label}/`,
    logUrl: v.config.logUrl ? `${v.config.logUrl}${label}/` : null,
    source: v.config.source,
    scheduler: v.scheduler,
    createdAt: new Date(v.createdAt).toISOString(),
    submittedAt: iso(v.submittedAt),
    startedAt: iso(v.startedAt),
    finishedAt: iso(v.finishedAt),
    durationSeconds: v.startedAt !== null && end !== null ? Math.max(0, Math.round((end - v.startedAt) / 1000)) : null,
    exitCode: v.exitCode,
    tasks: tasks.map(t => ({ index: t.task, state: t.state, host: t.host, exitCode: t.exitCode, message: t.message }))
  };
}

export function jobToWire(job: JobRecord, latest: VersionRecord | undefined, tasks: readonly TaskReport[] = []): TrainingJob {
  return {
    id: job.id,
    name: job.name,
    description: job.description,
    owner: { id: job.ownerId, name: job.ownerName },
    status: latest?.status ?? null,
    latestVersion: versionLabel(job.latestVersion),
    webhook: job.webhook ? { url: job.webhook.url, events: job.webhook.events, signed: job.webhook.secret !== null } : null,
    createdAt: new Date(job.createdAt).toISOString(),
    updatedAt: new Date(job.updatedAt).toISOString(),
    version: latest ? versionToWire(latest, tasks) : null
  };
}
