/**
 * JobManager: training jobs and their versions (SPEC §8). It owns the rules (who may do
 * what in which state), persistence and the hand-off to the scheduler; the scheduler adapter
 * owns mechanism, and the tracker follows submitted versions to their end.
 *
 * #### Notes
 * - A new version is INITIALIZING while the gateway prepares and submits it (in the
 *   background), DEPLOYING once the scheduler has it, then the scheduler's progress decides.
 * - Every state change is a compare-and-set in the store: concurrent requests or replicas
 *   cannot both win; the loser gets a 409 naming the state that won.
 * - Jobs outlive the gateway and the notebook that submitted them: nothing here stops a
 *   version on shutdown, and a restarted gateway resumes versions left INITIALIZING.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../logger';
import { Errors } from '../errors';
import type { Principal } from '../auth/principal';
import type { Flavor } from '../catalogue/flavors';
import type { AccessControl } from '../policy/access-control';
import { newInstanceId } from '../instances/manager';
import type { InstanceManager } from '../instances/manager';
import { deletePrefix, type IObjectStore } from '../storage/object-store';
import { SchedulerFullError, type ISchedulerAdapter, type LogChunk } from '../scheduler/scheduler';
import { TERMINAL_STATUSES, parseVersionLabel, versionId, versionLabel, type JobRecord, type TaskReport, type VersionConfig, type VersionRecord, type WebhookConfig } from './job';
import type { JobStore } from './job-store';
import type { JobConfigCheck } from './config-check';
import { stageNotebook, type NotebookStagingLimits } from './notebook-source';
import { childDir, formatDirUrl, parseDirUrl, type ObjectLocation } from './object-url';
import { jobAdvice, jobAllowedFrom, type JobOperation } from './state-machine';
import type { VersionTracker } from './tracker';
import type { CreateJobRequest, RerunRequest, UpdateJobRequest } from './validate';

export interface JobManagerOptions {
  store: JobStore;
  scheduler: ISchedulerAdapter;
  objects: IObjectStore;
  tracker: VersionTracker;
  /** Image, flavor, location and webhook checks of a version's configuration. */
  check: JobConfigCheck;
  flavors: readonly Flavor[];
  /** SPEC §9 policies (`trainJob:*`); absent: the built-in roles only. */
  access?: Pick<AccessControl, 'authorize'>;
  /** Notebook instances, for jobs submitted from a notebook. */
  instances?: Pick<InstanceManager, 'get' | 'resolveOpen'>;
  /** Where submitted notebooks' directories are copied (`s3://bucket/prefix/`). */
  stagingUrl: string;
  notebookLimits?: NotebookStagingLimits;
  /** Identifies this replica in the `pending` column. */
  replicaId: string;
  /** A version left INITIALIZING by another replica for this long is taken over. */
  staleInitMs?: number;
  log: Logger;
}

/** Bounds of a notebook directory submitted as a job's code. */
export const NOTEBOOK_LIMITS: NotebookStagingLimits = { maxFiles: 1_000, maxBytes: 512 * 2 ** 20 };

/** Told to whoever submits a job (SPEC §8, S1 §4.1.3.6). */
export const PACKAGES_NOTICE =
  'Packages installed in a notebook exist in the job only if the job uses an image saved from that notebook ("save as image"); a preset image has only its own packages.';

export class JobManager {
  private readonly _inflight = new Map<string, Promise<void>>();
  private _disposed = false;

  constructor(private readonly _o: JobManagerOptions) {}

  get scheduler(): ISchedulerAdapter {
    return this._o.scheduler;
  }

  /** Resumes versions a previous gateway left INITIALIZING. */
  async start(): Promise<void> {
    const stale = Date.now() - (this._o.staleInitMs ?? 300_000);
    for (const v of await this._o.store.versionsInStatus(['INITIALIZING'])) {
      if (v.pending !== this._o.replicaId && v.updatedAt > stale) continue;
      const job = await this._o.store.getJob(v.jobId);
      if (job) this._initializeLater(job, v);
    }
  }

  // ---- queries -----------------------------------------------------------------------------

  /**
   * A job the principal may `action` on: tenancy first (another user's id is a 404), then
   * the access policy.
   * @throws JOB_NOT_FOUND (also for other users' ids), TOKEN_SCOPE, ACCESS_DENIED
   */
  async getJob(p: Principal, id: string, action = 'trainJob:get'): Promise<JobRecord> {
    const job = await this._o.store.getJob(id);
    if (!job || !(p.role === 'admin' || p.userId === job.ownerId)) throw Errors.JOB_NOT_FOUND(id);
    await this._o.access?.authorize(p, action, { service: 'trainJob', id: job.id, ownerId: job.ownerId }, () => Errors.JOB_NOT_FOUND(id));
    return job;
  }

  async listJobs(p: Principal, opts: { limit: number; offset: number; all?: boolean }): Promise<{ items: JobRecord[]; total: number; latest: Map<string, VersionRecord> }> {
    await this._o.access?.authorize(p, 'trainJob:list');
    const everyone = p.role === 'admin' && opts.all === true;
    const page = await this._o.store.listJobs({ ownerId: everyone ? undefined : p.userId, limit: opts.limit, offset: opts.offset });
    return { ...page, latest: await this._o.store.latestVersions(page.items.map(j => j.id)) };
  }

  async listVersions(p: Principal, jobId: string): Promise<VersionRecord[]> {
    await this.getJob(p, jobId);
    return this._o.store.listVersions(jobId);
  }

  /** @throws JOB_NOT_FOUND, JOB_VERSION_NOT_FOUND */
  async getVersion(p: Principal, jobId: string, label: string, action = 'trainJob:get'): Promise<{ job: JobRecord; version: VersionRecord }> {
    const job = await this.getJob(p, jobId, action);
    const n = parseVersionLabel(label);
    const version = n === null ? undefined : await this._o.store.getVersion(jobId, n);
    if (!version) throw Errors.JOB_VERSION_NOT_FOUND(job.name, label);
    return { job, version };
  }

  /** The latest live version of a job. */
  async latest(job: JobRecord): Promise<VersionRecord | undefined> {
    return (await this._o.store.listVersions(job.id))[0];
  }

  /**
   * Who uses a custom image among an owner's jobs (any live version: a rerun copies it).
   * @returns `training job "<name>"` entries, for the "image in use" refusal.
   */
  async imageUsers(ownerId: string, image: string): Promise<string[]> {
    return (await this._o.store.jobsUsingImage(ownerId, image)).map(n => `training job "${n}"`);
  }

  /** The stored record of a version now; undefined once deleted. */
  reload(v: VersionRecord): Promise<VersionRecord | undefined> {
    return this._o.store.getVersionById(v.id);
  }

  tasks(v: VersionRecord): Promise<TaskReport[]> {
    return this._o.store.tasks(v.id);
  }

  /** A slice of one task's log (empty until the version reaches the scheduler). */
  async logs(v: VersionRecord, opts: { task: number; offset: number; limit?: number }): Promise<LogChunk> {
    if (opts.task < 0 || opts.task >= v.config.nodeCount) throw Errors.VALIDATION(`"task" must be from 0 to ${v.config.nodeCount - 1} (this version has ${v.config.nodeCount} task(s))`);
    if (!v.handle) return { text: '', nextOffset: 0, size: 0 };
    return this._o.scheduler.logs(v.handle, opts);
  }

  // ---- commands ----------------------------------------------------------------------------

  /**
   * Creates a job and its version V0001, and submits it in the background.
   * @returns the job and the version, INITIALIZING.
   */
  async create(p: Principal, req: CreateJobRequest): Promise<{ job: JobRecord; version: VersionRecord }> {
    await this._o.access?.authorize(p, 'trainJob:create');
    this._o.check.webhook(req.webhook);
    const f = req.fields;
    const jobId = newInstanceId();
    let code: { codeUrl: string; bootFile: string; source: VersionConfig['source']; image?: string; staged?: ObjectLocation };
    if (req.notebook) {
      code = await this._stageNotebook(p, jobId, req.notebook);
    } else {
      code = { codeUrl: f.codeUrl!, bootFile: f.bootFile!, source: { kind: 'url' } };
    }
    try {
      const image = f.image ?? code.image;
      if (!image) throw Errors.VALIDATION('"image" is required: a name from GET /api/v1/images (the notebook\'s image, or a custom image saved from it)');
      const config = await this._o.check.complete(p, { id: p.userId, name: p.name }, {
        image,
        flavor: f.flavor ?? '',
        nodeCount: f.nodeCount ?? 1,
        codeUrl: code.codeUrl,
        bootFile: code.bootFile,
        parameters: f.parameters ?? [],
        dataUrl: f.dataUrl ?? null,
        outputUrl: f.outputUrl!,
        logUrl: f.logUrl ?? null,
        source: code.source
      });
      await this._assertRoom();
      const now = Date.now();
      const job: Omit<JobRecord, 'ownerName'> = {
        id: jobId,
        ownerId: p.userId,
        name: req.name,
        description: req.description,
        webhook: req.webhook ? ({ ...req.webhook } satisfies WebhookConfig) : null,
        latestVersion: 1,
        createdAt: now,
        updatedAt: now
      };
      const version = this._newVersion(job.id, 1, config, now);
      await this._o.store.insertJob(job, version);
      const stored = (await this._o.store.getJob(job.id))!;
      this._o.log.info({ job: job.id, owner: p.name, name: job.name, source: code.source.kind }, 'job created');
      this._initializeLater(stored, version);
      return { job: stored, version };
    } catch (err) {
      // Nothing half-created: the staged copy of a notebook goes with the refused job.
      if (code.staged) await deletePrefix(this._o.objects, code.staged.bucket, code.staged.prefix).catch(() => undefined);
      throw err;
    }
  }

  /** Converts a notebook of a running instance and copies its directory as the job's code. */
  private async _stageNotebook(p: Principal, jobId: string, nb: { instanceId: string; path: string }) {
    if (!this._o.instances) throw Errors.VALIDATION('this gateway cannot submit notebooks; give "codeUrl" and "bootFile"');
    const instance = await this._o.instances.get(p, nb.instanceId);
    const target = await this._o.instances.resolveOpen(p, nb.instanceId);
    const dest = this._stagingOf(p.userId, jobId);
    const staged = await stageNotebook(this._o.objects, target, nb.path, dest, this._o.notebookLimits ?? NOTEBOOK_LIMITS);
    this._o.log.info({ job: jobId, instance: nb.instanceId, files: staged.files, bytes: staged.bytes }, 'notebook staged');
    return {
      codeUrl: formatDirUrl(staged.code),
      bootFile: staged.bootFile,
      source: { kind: 'notebook' as const, instanceId: nb.instanceId, notebook: nb.path },
      image: instance.image,
      staged: dest
    };
  }

  /** Where a job's submitted notebook directories live. */
  private _stagingOf(ownerId: string, jobId: string): ObjectLocation {
    return childDir(parseDirUrl(this._o.stagingUrl, 'jobStagingUrl'), `${ownerId}/${jobId}`);
  }

  /**
   * "Modify and rerun": the next version, from the latest (or `fromVersion`) with the given
   * fields changed, submitted in the background.
   */
  async rerun(p: Principal, jobId: string, req: RerunRequest): Promise<VersionRecord> {
    const job = await this.getJob(p, jobId, 'trainJob:create');
    const versions = await this._o.store.listVersions(jobId);
    const base = req.fromVersion === null ? versions[0] : versions.find(v => v.version === req.fromVersion);
    if (!base) throw Errors.JOB_VERSION_NOT_FOUND(job.name, req.fromVersion === null ? '(latest)' : versionLabel(req.fromVersion));
    const initializing = versions.find(v => v.status === 'INITIALIZING');
    if (initializing) this._refuse('rerun', job, initializing);
    const f = req.fields;
    const config = await this._o.check.complete(p, { id: job.ownerId, name: job.ownerName }, { ...base.config, ...f, source: f.codeUrl !== undefined ? { kind: 'url' } : base.config.source });
    await this._assertRoom();
    const v = this._newVersion(job.id, job.latestVersion + 1, config, Date.now());
    if (!(await this._o.store.insertNextVersion(job.name, job.latestVersion, v))) {
      throw Errors.JOB_BUSY(job.name, 'another version was created at the same time');
    }
    this._o.log.info({ job: job.id, version: v.id }, 'version created');
    this._initializeLater(job, v);
    return v;
  }

  /** Stops a DEPLOYING or RUNNING version: the scheduler cancels it, then it is CANCELED. */
  async stop(p: Principal, jobId: string, label: string): Promise<VersionRecord> {
    const { job, version } = await this.getVersion(p, jobId, label, 'trainJob:action');
    if (!jobAllowedFrom('stop').includes(version.status)) this._refuse('stop', job, version);
    const reason = `stopped by ${p.name}`;
    const forget = await this._o.tracker.stopping(version, reason);
    let done: VersionRecord | undefined;
    try {
      if (version.handle) await this._o.scheduler.cancel(version.handle);
      done = await this._o.tracker.finish(version, 'CANCELED', { statusReason: reason });
    } finally {
      forget();
    }
    if (done) return done;
    const now = (await this._o.store.getVersionById(version.id))!;
    // The tracker may have settled it as CANCELED from the scheduler's side meanwhile.
    if (now.status !== 'CANCELED') this._refuse('stop', job, now);
    return now;
  }

  /** Deletes a job and all its versions (any state but INITIALIZING); running ones are canceled. */
  async deleteJob(p: Principal, jobId: string): Promise<JobRecord> {
    const job = await this.getJob(p, jobId, 'trainJob:delete');
    const versions = await this._o.store.listVersions(jobId);
    const initializing = versions.find(v => v.status === 'INITIALIZING');
    if (initializing) this._refuse('delete', job, initializing);
    if (!(await this._o.store.markJobDeleted(jobId))) {
      throw Errors.JOB_BUSY(job.name, 'a new version is being created');
    }
    for (const v of versions) await this._release(v);
    if (versions.some(v => v.config.source.kind === 'notebook')) {
      const staged = this._stagingOf(job.ownerId, job.id);
      await deletePrefix(this._o.objects, staged.bucket, staged.prefix).catch(err => this._o.log.warn({ err, job: jobId }, 'removing the staged notebook failed'));
    }
    this._o.log.info({ job: jobId }, 'job deleted');
    return job;
  }

  /** Deletes one version; deleting the last one deletes the job. */
  async deleteVersion(p: Principal, jobId: string, label: string): Promise<{ jobDeleted: boolean }> {
    const { job, version } = await this.getVersion(p, jobId, label, 'trainJob:delete');
    if (!jobAllowedFrom('delete').includes(version.status)) this._refuse('delete', job, version);
    const live = await this._o.store.listVersions(jobId);
    if (live.length === 1) {
      await this.deleteJob(p, jobId);
      return { jobDeleted: true };
    }
    if (!(await this._o.store.markVersionDeleted(version.id, jobAllowedFrom('delete')))) {
      this._refuse('delete', job, (await this._o.store.getVersionById(version.id)) ?? version);
    }
    await this._release(version);
    return { jobDeleted: false };
  }

  /** Updates the description and the webhook (any state). */
  async update(p: Principal, jobId: string, req: UpdateJobRequest): Promise<JobRecord> {
    await this.getJob(p, jobId, 'trainJob:update');
    this._o.check.webhook(req.webhook);
    await this._o.store.updateJob(jobId, req);
    return this.getJob(p, jobId);
  }

  // ---- internals ---------------------------------------------------------------------------

  private _newVersion(jobId: string, n: number, config: VersionConfig, now: number): VersionRecord {
    return {
      id: versionId(jobId, n),
      jobId,
      version: n,
      status: 'INITIALIZING',
      statusReason: null,
      config,
      scheduler: this._o.scheduler.kind,
      handle: null,
      token: `nbgjob_${randomBytes(32).toString('base64url')}`,
      pending: this._o.replicaId,
      createdAt: now,
      updatedAt: now,
      submittedAt: null,
      startedAt: null,
      finishedAt: null,
      exitCode: null
    };
  }

  private async _assertRoom(): Promise<void> {
    const why = await this._o.scheduler.full?.();
    if (why) throw Errors.JOB_QUEUE_FULL(this._o.scheduler.kind, why);
  }

  private _initializeLater(job: JobRecord, v: VersionRecord): void {
    if (this._disposed || this._inflight.has(v.id)) return;
    const p = this._initialize(job, v)
      .catch(err => this._o.log.error({ err, version: v.id }, 'initializing a version failed'))
      .finally(() => this._inflight.delete(v.id));
    this._inflight.set(v.id, p);
  }

  /** INITIALIZING → DEPLOYING: the scheduler takes it; FAILED when it refuses. */
  private async _initialize(job: JobRecord, v: VersionRecord): Promise<void> {
    const log = this._o.log.child({ version: v.id });
    const scheduler = this._o.scheduler;
    try {
      const flavor = this._o.flavors.find(f => f.id === v.config.flavor);
      if (!flavor) throw new Error(`flavor "${v.config.flavor}" is no longer configured`);
      const handle = await scheduler.submit({
        id: v.id,
        displayName: `nbg:${job.ownerName}/${job.name}:${versionLabel(v.version)}`,
        tasks: v.config.nodeCount,
        resources: { cpus: flavor.cpus, memoryGiB: flavor.memoryGiB, accelerators: flavor.accelerators, chip: flavor.chip },
        token: v.token,
        env: {}
      });
      const next = await this._o.store.transition(v.id, ['INITIALIZING'], 'DEPLOYING', { handle, submittedAt: Date.now(), pending: null, statusReason: null });
      if (!next) {
        // Another replica submitted it first (the scheduler's submit is idempotent), or it was
        // deleted meanwhile: then nothing may keep running for it.
        if (!(await this._o.store.getVersionById(v.id))) {
          await scheduler.cancel(handle).catch(() => undefined);
          await scheduler.remove(handle).catch(() => undefined);
        }
        return;
      }
      log.info({ scheduler: scheduler.kind }, 'submitted');
      this._o.tracker.checkSoon(v.id);
    } catch (err) {
      const reason = err instanceof SchedulerFullError
        ? `the ${scheduler.kind} scheduler is full: ${err.message}`
        : `submitting to the ${scheduler.kind} scheduler failed: ${(err as Error).message}`;
      log.warn({ err }, reason);
      const cur = await this._o.store.getVersionById(v.id);
      if (cur) await this._o.tracker.finish(cur, 'FAILED', { statusReason: reason });
    }
  }

  /** Cancels what a deleted version still runs and removes its files. */
  private async _release(v: VersionRecord): Promise<void> {
    if (!v.handle) return;
    try {
      if (!TERMINAL_STATUSES.includes(v.status)) await this._o.scheduler.cancel(v.handle);
      await this._o.scheduler.remove(v.handle);
    } catch (err) {
      this._o.log.warn({ err, version: v.id }, 'releasing a deleted version failed');
    }
  }

  private _refuse(op: JobOperation, job: JobRecord, v: VersionRecord): never {
    throw Errors.JOB_STATE(op, versionLabel(v.version), job.name, v.status, jobAdvice(op), { status: v.status, allowedFrom: jobAllowedFrom(op) });
  }

  /** Waits (bounded) for versions being submitted. Never cancels versions. */
  async dispose(deadlineMs = 10_000): Promise<void> {
    if (this._disposed) return;
    this._disposed = true;
    await Promise.race([Promise.allSettled([...this._inflight.values()]), new Promise(r => setTimeout(r, deadlineMs).unref())]);
  }
}
