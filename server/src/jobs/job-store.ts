/**
 * Persistence of jobs, versions and task reports over the SQL seam. Version state changes
 * are compare-and-set on the status column, and the webhook deliveries a change causes are
 * written in the same transaction, so an event is never lost or sent for a change that lost
 * a race (two requests, or two gateway replicas).
 */
import { randomUUID } from 'node:crypto';
import type { ISqlDatabase } from '../db/database';
import { json, statusTransition } from '../db/compare-and-set';
import { liveRowsOf, selectPage } from '../db/page';
import { Errors } from '../errors';
import type { SchedulerHandle } from '../scheduler/scheduler';
import type { JobEvent, JobRecord, JobStatus, TaskReport, VersionConfig, VersionRecord, WebhookConfig } from './job';

interface JobRow {
  id: string;
  owner_id: string;
  owner_name: string;
  name: string;
  description: string;
  webhook: string | null;
  latest_version: number;
  created_at: number;
  updated_at: number;
}

interface VersionRow {
  id: string;
  job_id: string;
  version: number;
  status: string;
  status_reason: string | null;
  config: string;
  scheduler: string;
  handle: string | null;
  token: string;
  pending: string | null;
  created_at: number;
  updated_at: number;
  submitted_at: number | null;
  started_at: number | null;
  finished_at: number | null;
  exit_code: number | null;
}

interface TaskRow {
  task_index: number;
  state: string;
  host: string | null;
  port: number | null;
  exit_code: number | null;
  message: string | null;
  updated_at: number;
}

const num = (v: number | null): number | null => (v === null ? null : Number(v));

function toJob(r: JobRow): JobRecord {
  return {
    id: r.id,
    ownerId: r.owner_id,
    ownerName: r.owner_name,
    name: r.name,
    description: r.description,
    webhook: r.webhook ? (JSON.parse(r.webhook) as WebhookConfig) : null,
    latestVersion: Number(r.latest_version),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at)
  };
}

function toVersion(r: VersionRow): VersionRecord {
  return {
    id: r.id,
    jobId: r.job_id,
    version: Number(r.version),
    status: r.status as JobStatus,
    statusReason: r.status_reason,
    config: JSON.parse(r.config) as VersionConfig,
    scheduler: r.scheduler,
    handle: r.handle ? (JSON.parse(r.handle) as SchedulerHandle) : null,
    token: r.token,
    pending: r.pending,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    submittedAt: num(r.submitted_at),
    startedAt: num(r.started_at),
    finishedAt: num(r.finished_at),
    exitCode: num(r.exit_code)
  };
}

const JOB_SELECT = `SELECT j.*, u.name AS owner_name FROM jobs j JOIN users u ON u.id = j.owner_id`;

/** Fields a transition may set alongside the status. */
export interface VersionPatch {
  statusReason?: string | null;
  pending?: string | null;
  handle?: SchedulerHandle | null;
  submittedAt?: number | null;
  startedAt?: number | null;
  finishedAt?: number | null;
  exitCode?: number | null;
}

/** A webhook delivery to enqueue with a transition. */
export interface DeliveryRequest {
  jobId: string;
  event: JobEvent;
  url: string;
  secret: string | null;
  payload: unknown;
}

export class JobStore {
  constructor(private readonly _db: ISqlDatabase) {}

  /**
   * Inserts a job and its first version.
   * @throws JOB_NAME_TAKEN when the owner has a live job with that name.
   */
  async insertJob(job: Omit<JobRecord, 'ownerName'>, first: VersionRecord): Promise<void> {
    await this._db.transaction(async tx => {
      if (tx.dialect === 'postgres') await tx.run('SELECT id FROM users WHERE id = $1 FOR UPDATE', [job.ownerId]);
      const taken = await tx.get('SELECT id FROM jobs WHERE owner_id = $1 AND name = $2 AND deleted_at IS NULL', [job.ownerId, job.name]);
      if (taken) throw Errors.JOB_NAME_TAKEN(job.name);
      await tx.run(
        `INSERT INTO jobs (id, owner_id, name, description, webhook, latest_version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [job.id, job.ownerId, job.name, job.description, job.webhook ? JSON.stringify(job.webhook) : null, job.latestVersion, job.createdAt, job.updatedAt]
      );
      await insertVersionRow(tx, first);
    });
  }

  /**
   * Adds the next version of a job, unless another one was added meanwhile or one is still
   * INITIALIZING.
   * @returns false when the job's latest version is no longer `expectLatest`.
   * @throws JOB_STATE when a version is INITIALIZING.
   */
  async insertNextVersion(jobName: string, expectLatest: number, v: VersionRecord): Promise<boolean> {
    return this._db.transaction(async tx => {
      const init = await tx.get<{ version: number }>(`SELECT version FROM job_versions WHERE job_id = $1 AND status = 'INITIALIZING' AND deleted_at IS NULL`, [v.jobId]);
      if (init) throw Errors.JOB_STATE('rerun', `V${String(init.version).padStart(4, '0')}`, jobName, 'INITIALIZING', 'wait until it leaves INITIALIZING (a few seconds), then create the new version', { status: 'INITIALIZING' });
      const { changes } = await tx.run(
        'UPDATE jobs SET latest_version = $1, updated_at = $2 WHERE id = $3 AND latest_version = $4 AND deleted_at IS NULL',
        [v.version, v.createdAt, v.jobId, expectLatest]
      );
      if (changes !== 1) return false;
      await insertVersionRow(tx, v);
      return true;
    });
  }

  async getJob(id: string): Promise<JobRecord | undefined> {
    const r = await this._db.get<JobRow>(`${JOB_SELECT} WHERE j.id = $1 AND j.deleted_at IS NULL`, [id]);
    return r ? toJob(r) : undefined;
  }

  /** Live jobs, optionally of one owner, newest first. */
  async listJobs(opts: { ownerId?: string; limit: number; offset: number }): Promise<{ items: JobRecord[]; total: number }> {
    return selectPage(this._db, { select: JOB_SELECT, countFrom: 'jobs j', ...liveRowsOf('j', opts.ownerId), orderBy: 'j.created_at DESC, j.id', limit: opts.limit, offset: opts.offset }, toJob);
  }

  async updateJob(id: string, fields: { description?: string; webhook?: WebhookConfig | null }): Promise<void> {
    const now = Date.now();
    if (fields.description !== undefined) {
      await this._db.run('UPDATE jobs SET description = $1, updated_at = $2 WHERE id = $3 AND deleted_at IS NULL', [fields.description, now, id]);
    }
    if (fields.webhook !== undefined) {
      await this._db.run('UPDATE jobs SET webhook = $1, updated_at = $2 WHERE id = $3 AND deleted_at IS NULL', [fields.webhook ? JSON.stringify(fields.webhook) : null, now, id]);
    }
  }

  /**
   * Marks a job and its versions deleted, unless a version is INITIALIZING.
   * @returns false when a version is INITIALIZING (it was not deleted).
   */
  async markJobDeleted(id: string): Promise<boolean> {
    return this._db.transaction(async tx => {
      const init = await tx.get(`SELECT id FROM job_versions WHERE job_id = $1 AND status = 'INITIALIZING' AND deleted_at IS NULL`, [id]);
      if (init) return false;
      const now = Date.now();
      await tx.run('UPDATE job_versions SET deleted_at = $1, updated_at = $1 WHERE job_id = $2 AND deleted_at IS NULL', [now, id]);
      await tx.run('UPDATE jobs SET deleted_at = $1, updated_at = $1 WHERE id = $2 AND deleted_at IS NULL', [now, id]);
      return true;
    });
  }

  /** Marks one version deleted when it is in one of `from`. */
  async markVersionDeleted(id: string, from: readonly JobStatus[]): Promise<boolean> {
    const marks = from.map((_, i) => `$${i + 3}`).join(', ');
    const { changes } = await this._db.run(
      `UPDATE job_versions SET deleted_at = $1, updated_at = $1 WHERE id = $2 AND deleted_at IS NULL AND status IN (${marks})`,
      [Date.now(), id, ...from]
    );
    return changes === 1;
  }

  async getVersion(jobId: string, n: number): Promise<VersionRecord | undefined> {
    const r = await this._db.get<VersionRow>('SELECT * FROM job_versions WHERE job_id = $1 AND version = $2 AND deleted_at IS NULL', [jobId, n]);
    return r ? toVersion(r) : undefined;
  }

  async getVersionById(id: string): Promise<VersionRecord | undefined> {
    const r = await this._db.get<VersionRow>('SELECT * FROM job_versions WHERE id = $1 AND deleted_at IS NULL', [id]);
    return r ? toVersion(r) : undefined;
  }

  async versionByToken(token: string): Promise<VersionRecord | undefined> {
    const r = await this._db.get<VersionRow>('SELECT * FROM job_versions WHERE token = $1 AND deleted_at IS NULL', [token]);
    return r ? toVersion(r) : undefined;
  }

  /** A job's live versions, newest first. */
  async listVersions(jobId: string): Promise<VersionRecord[]> {
    return (await this._db.all<VersionRow>('SELECT * FROM job_versions WHERE job_id = $1 AND deleted_at IS NULL ORDER BY version DESC', [jobId])).map(toVersion);
  }

  /** The latest live version of each of these jobs. */
  async latestVersions(jobIds: readonly string[]): Promise<Map<string, VersionRecord>> {
    const out = new Map<string, VersionRecord>();
    if (jobIds.length === 0) return out;
    const marks = jobIds.map((_, i) => `$${i + 1}`).join(', ');
    const rows = await this._db.all<VersionRow>(
      `SELECT v.* FROM job_versions v JOIN jobs j ON j.id = v.job_id AND j.latest_version = v.version WHERE v.job_id IN (${marks}) AND v.deleted_at IS NULL`,
      [...jobIds]
    );
    for (const r of rows) out.set(r.job_id, toVersion(r));
    return out;
  }

  /** Names of an owner's live jobs with a live version on `image` (a custom image cannot be deleted under them). */
  async jobsUsingImage(ownerId: string, image: string): Promise<string[]> {
    const rows = await this._db.all<{ name: string; config: string }>(
      `SELECT j.name, v.config FROM jobs j JOIN job_versions v ON v.job_id = j.id WHERE j.owner_id = $1 AND j.deleted_at IS NULL AND v.deleted_at IS NULL`,
      [ownerId]
    );
    return [...new Set(rows.filter(r => (JSON.parse(r.config) as VersionConfig).image === image).map(r => r.name))];
  }

  /** How many live versions are in each state (metrics). */
  async countByStatus(): Promise<Record<string, number>> {
    const rows = await this._db.all<{ status: string; n: number }>('SELECT status, COUNT(*) AS n FROM job_versions WHERE deleted_at IS NULL GROUP BY status');
    return Object.fromEntries(rows.map(r => [r.status, Number(r.n)]));
  }

  /** Live versions in any of these states, oldest first. */
  async versionsInStatus(statuses: readonly JobStatus[]): Promise<VersionRecord[]> {
    const marks = statuses.map((_, i) => `$${i + 1}`).join(', ');
    return (await this._db.all<VersionRow>(`SELECT * FROM job_versions WHERE deleted_at IS NULL AND status IN (${marks}) ORDER BY created_at`, [...statuses])).map(toVersion);
  }

  /**
   * Moves a version from one of `from` to `to`, atomically, and enqueues the deliveries the
   * change causes in the same transaction.
   * @returns the updated record, or undefined when it was not in one of `from` (or is gone).
   */
  async transition(id: string, from: readonly JobStatus[], to: JobStatus, patch: VersionPatch = {}, deliveries: readonly DeliveryRequest[] = []): Promise<VersionRecord | undefined> {
    const now = Date.now();
    const cols: [string, unknown][] = [];
    if ('statusReason' in patch) cols.push(['status_reason', patch.statusReason]);
    if ('pending' in patch) cols.push(['pending', patch.pending]);
    if ('handle' in patch) cols.push(['handle', json(patch.handle)]);
    if ('submittedAt' in patch) cols.push(['submitted_at', patch.submittedAt]);
    if ('startedAt' in patch) cols.push(['started_at', patch.startedAt]);
    if ('finishedAt' in patch) cols.push(['finished_at', patch.finishedAt]);
    if ('exitCode' in patch) cols.push(['exit_code', patch.exitCode]);
    const { sql, params } = statusTransition('job_versions', id, from, to, cols, now);
    const changed = await this._db.transaction(async tx => {
      const { changes } = await tx.run(sql, params);
      if (changes !== 1) return false;
      for (const d of deliveries) {
        await tx.run(
          `INSERT INTO job_webhook_deliveries (id, job_id, version_id, event, url, secret, payload, attempts, next_attempt_at, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $8)`,
          [randomUUID(), d.jobId, id, d.event, d.url, d.secret, JSON.stringify(d.payload), now]
        );
      }
      return true;
    });
    return changed ? this.getVersionById(id) : undefined;
  }

  /** Sets fields that do not change the state (`pending`). */
  async patchVersion(id: string, patch: Pick<VersionPatch, 'handle' | 'pending' | 'submittedAt'>): Promise<void> {
    const sets: string[] = [];
    const params: unknown[] = [];
    const add = (col: string, v: unknown): void => {
      params.push(v);
      sets.push(`${col} = $${params.length}`);
    };
    if ('handle' in patch) add('handle', patch.handle ? JSON.stringify(patch.handle) : null);
    if ('pending' in patch) add('pending', patch.pending);
    if ('submittedAt' in patch) add('submitted_at', patch.submittedAt);
    if (sets.length === 0) return;
    add('updated_at', Date.now());
    params.push(id);
    await this._db.run(`UPDATE job_versions SET ${sets.join(', ')} WHERE id = $${params.length}`, params);
  }

  /** Records why an active version is about to change (a stop in progress), without changing its state. */
  async noteReason(id: string, reason: string): Promise<void> {
    await this._db.run(`UPDATE job_versions SET status_reason = $1, updated_at = $2 WHERE id = $3 AND status IN ('DEPLOYING', 'RUNNING')`, [reason, Date.now(), id]);
  }

  // ---- task reports -----------------------------------------------------------------------

  /** Records what a task reported (latest report wins, except that an end is never undone). */
  async reportTask(versionId: string, r: Omit<TaskReport, 'updatedAt'>): Promise<void> {
    const now = Date.now();
    await this._db.transaction(async tx => {
      const cur = await tx.get<TaskRow>('SELECT * FROM job_tasks WHERE version_id = $1 AND task_index = $2', [versionId, r.task]);
      if (!cur) {
        await tx.run(
          'INSERT INTO job_tasks (version_id, task_index, state, host, port, exit_code, message, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
          [versionId, r.task, r.state, r.host, r.port, r.exitCode, r.message, now]
        );
        return;
      }
      if (cur.state !== 'started' && r.state === 'started') return;
      await tx.run(
        'UPDATE job_tasks SET state = $1, host = COALESCE($2, host), port = COALESCE($3, port), exit_code = $4, message = COALESCE($5, message), updated_at = $6 WHERE version_id = $7 AND task_index = $8',
        [r.state, r.host, r.port, r.exitCode, r.message, now, versionId, r.task]
      );
    });
  }

  async tasks(versionId: string): Promise<TaskReport[]> {
    const rows = await this._db.all<TaskRow>('SELECT * FROM job_tasks WHERE version_id = $1 ORDER BY task_index', [versionId]);
    return rows.map(r => ({
      task: Number(r.task_index),
      state: r.state as TaskReport['state'],
      host: r.host,
      port: num(r.port),
      exitCode: num(r.exit_code),
      message: r.message,
      updatedAt: Number(r.updated_at)
    }));
  }
}

async function insertVersionRow(tx: ISqlDatabase, v: VersionRecord): Promise<void> {
  await tx.run(
    `INSERT INTO job_versions (id, job_id, version, status, status_reason, config, scheduler, handle, token, pending,
       created_at, updated_at, submitted_at, started_at, finished_at, exit_code)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
    [
      v.id, v.jobId, v.version, v.status, v.statusReason, JSON.stringify(v.config), v.scheduler, v.handle ? JSON.stringify(v.handle) : null,
      v.token, v.pending, v.createdAt, v.updatedAt, v.submittedAt, v.startedAt, v.finishedAt, v.exitCode
    ]
  );
}
