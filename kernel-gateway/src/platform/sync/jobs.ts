/**
 * Syncs run by the agent, next to `~/work`: Sync OBS (selected objects of the instance's OBS
 * path → `~/work`), push and pull. A request is planned at once, so refusals (limits, the
 * delete guard) answer the request itself with the numbers; the copy then runs in the
 * background and reports progress.
 *
 * #### Notes
 * - One sync at a time per instance (a second one is refused with the running one's id):
 *   two syncs over the same files would race.
 * - The last 20 syncs are kept in memory; they are gone when the agent stops.
 * - Remote prefixes come from the gateway's access (the owner's root), never from the request
 *   as absolute keys, so a request cannot name another user's data.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { JupyterError } from '../../errors';
import type { Logger } from '../../logger';
import { resolveApiPath } from '../../services/contents/paths';
import { AccessDeniedError, NoSuchBucketError } from '../../../../server/src/storage/object-store';
import { checkLimits, plan, SyncRefusedError, type SyncPlan, type SyncSpec } from '../../../../server/src/storage/sync';
import { parseSyncRequest, SyncRequestError, type SyncRequest } from '../../../../server/src/storage/sync-request';
import { applyPlan, type SyncProgress } from '../../../../server/src/storage/sync-transfers';
import type { StorageAccessHolder } from './access';

/** A refusal in Jupyter's dialect plus `details` with the numbers. */
export class SyncError extends JupyterError {
  constructor(status: number, message: string, reason: string, readonly details: Record<string, unknown> = {}) {
    super(status, message, reason);
  }
  override toBody(): { message: string; reason: string; details: Record<string, unknown> } {
    return { ...super.toBody(), details: this.details };
  }
}

export interface SyncJob {
  id: string;
  kind: SyncRequest['kind'];
  state: 'planned' | 'running' | 'succeeded' | 'failed' | 'canceled';
  /** Remote prefix relative to the owner's root. */
  prefix: string;
  /** `~/work` sub-path. */
  path: string;
  createdAt: string;
  finishedAt: string | null;
  plan: Record<string, number>;
  progress: Omit<SyncProgress, 'phase'> & { phase: SyncProgress['phase'] | 'planning'; resumedParts: number };
  failures: { path: string; error: string }[];
  error: string | null;
}

export interface SyncJobManagerOptions {
  access: StorageAccessHolder;
  /** `~/work`: the root of local paths and of the Sync OBS size limit. */
  workDir: string;
  /** Where local ETags and unfinished uploads are remembered between syncs. */
  cacheDir: string;
  log: Logger;
  /** Syncs kept for GET (default 20). */
  keep?: number;
}

export class SyncJobManager {
  private readonly _jobs = new Map<string, SyncJob>();
  private readonly _running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private _disposed = false;

  constructor(private readonly _o: SyncJobManagerOptions) {}

  /**
   * Plans a sync and, unless it is a dry run, starts copying.
   * @returns 202 with the running sync, or 200 with the plan of a dry run.
   * @throws SyncError: 400 bad request, 403 limits, 409 busy or delete guard, 503 no storage.
   */
  async start(body: unknown): Promise<{ status: 200 | 202; job: SyncJob }> {
    if (this._disposed) throw new SyncError(503, 'the agent is shutting down', 'storage-unavailable');
    let req: SyncRequest;
    try {
      req = parseSyncRequest(body, { maxSources: 100_000 });
    } catch (err) {
      if (err instanceof SyncRequestError) throw new SyncError(400, err.message, err.kind === 'path' ? 'storage-path' : 'Bad Request');
      throw err;
    }
    const busy = [...this._running.keys()][0];
    if (busy) throw new SyncError(409, `sync ${busy} is still running; wait for it or cancel it`, 'sync-busy', { jobId: busy });

    const id = `s${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
    const abort = new AbortController();
    let release!: () => void;
    // Held from planning on, so two requests cannot plan over the same files at once.
    this._running.set(id, { abort, done: new Promise<void>(r => (release = r)) });
    try {
      const { store, access } = await this._o.access.get();
      let prefix: string;
      if (req.kind === 'obs') {
        if (access.obsPath === null) throw new SyncError(400, 'Sync OBS copies from the OBS path of an obs-storage instance, and this instance uses local storage; use a pull', 'Bad Request');
        prefix = access.obsPath;
      } else {
        prefix = access.root + (req.prefix ?? access.defaultPrefix);
      }
      const localRoot = await resolveApiPath(this._o.workDir, req.path);
      const spec: SyncSpec = {
        direction: req.kind === 'push' ? 'push' : 'pull',
        localRoot, store, bucket: access.bucket, prefix,
        ...(req.sources ? { include: req.sources } : {}),
        delete: req.delete, maxDelete: req.maxDelete
      };
      const job: SyncJob = {
        id, kind: req.kind, state: 'running', prefix: prefix.slice(access.root.length), path: req.path,
        createdAt: new Date().toISOString(), finishedAt: null, plan: {},
        progress: { phase: 'planning', filesTotal: 0, filesDone: 0, filesFailed: 0, bytesTotal: 0, bytesDone: 0, deletesTotal: 0, deletesDone: 0, resumedParts: 0 },
        failures: [], error: null
      };
      let p: SyncPlan;
      try {
        await mkdir(this._o.cacheDir, { recursive: true, mode: 0o700 });
        p = await plan(spec, { cacheFile: join(this._o.cacheDir, `${createHash('sha256').update(localRoot).digest('hex').slice(0, 20)}.json`), signal: abort.signal });
        job.plan = summary(p);
        if (req.kind === 'obs') Object.assign(job.plan, await checkLimits(p, { ...access.syncLimits, workDir: this._o.workDir }, abort.signal));
      } catch (err) {
        throw toSyncError(err);
      }
      if (req.dryRun) {
        job.state = 'planned';
        job.finishedAt = new Date().toISOString();
        this._remember(job);
        this._running.delete(id);
        release();
        return { status: 200, job };
      }
      job.progress = { ...job.progress, phase: 'transferring', filesTotal: p.transfers.length, bytesTotal: p.transferBytes, deletesTotal: p.deletes.length };
      this._remember(job);
      const log = this._o.log.child({ sync: id });
      log.info('sync started', { kind: req.kind, prefix: job.prefix, path: req.path, files: p.transfers.length, bytes: p.transferBytes, deletes: p.deletes.length });
      void this._run(job, p, req.concurrency, abort, log).finally(() => {
        this._running.delete(id);
        release();
      });
      return { status: 202, job };
    } catch (err) {
      this._running.delete(id);
      release();
      throw err;
    }
  }

  private async _run(job: SyncJob, p: SyncPlan, concurrency: number, abort: AbortController, log: Logger): Promise<void> {
    try {
      const r = await applyPlan(p, {
        concurrency,
        signal: abort.signal,
        onProgress: pr => Object.assign(job.progress, pr)
      });
      Object.assign(job.progress, r, { resumedParts: r.resumedParts });
      job.failures = r.failures.map(f => ({ path: f.rel, error: f.error }));
      job.state = r.filesFailed > 0 ? 'failed' : 'succeeded';
      if (r.filesFailed > 0) job.error = `${r.filesFailed} of ${r.filesTotal} file(s) failed; run the sync again to retry them`;
    } catch (err) {
      if (abort.signal.aborted) {
        job.state = 'canceled';
        job.error = 'canceled; what finished stays, and running the sync again resumes the rest';
      } else {
        job.state = 'failed';
        job.error = (err as Error).message;
      }
    } finally {
      job.finishedAt = new Date().toISOString();
      log.info('sync finished', { state: job.state, files: job.progress.filesDone, bytes: job.progress.bytesDone, failed: job.progress.filesFailed });
    }
  }

  list(): SyncJob[] {
    return [...this._jobs.values()].reverse();
  }

  /** @throws SyncError 404 */
  get(id: string): SyncJob {
    const job = this._jobs.get(id);
    if (!job) throw new SyncError(404, `sync ${id} not found`, 'sync-not-found', { jobId: id });
    return job;
  }

  /** Cancels a running sync and waits until its transfers have stopped. */
  async cancel(id: string): Promise<SyncJob> {
    const job = this.get(id);
    const running = this._running.get(id);
    if (running) {
      running.abort.abort(new Error('canceled'));
      await running.done;
    }
    return job;
  }

  private _remember(job: SyncJob): void {
    this._jobs.set(job.id, job);
    const keep = this._o.keep ?? 20;
    for (const [id, j] of this._jobs) {
      if (this._jobs.size <= keep) break;
      if (j.state !== 'running') this._jobs.delete(id);
    }
  }

  async dispose(): Promise<void> {
    if (this._disposed) return;
    this._disposed = true;
    const running = [...this._running.values()];
    for (const r of running) r.abort.abort(new Error('the agent is stopping'));
    await Promise.allSettled(running.map(r => r.done));
  }
}

function summary(p: SyncPlan): Record<string, number> {
  return {
    files: p.sourceFiles, bytes: p.sourceBytes, transfers: p.transfers.length, transferBytes: p.transferBytes,
    unchanged: p.unchanged, deletes: p.deletes.length, skippedKeys: p.skippedKeys.length
  };
}

function toSyncError(err: unknown): unknown {
  if (err instanceof SyncError || err instanceof JupyterError) return err;
  if (err instanceof SyncRefusedError) {
    return err.reason === 'delete'
      ? new SyncError(409, err.message, 'sync-delete-guard', err.details)
      : new SyncError(403, err.message, 'sync-limit', err.details);
  }
  if (err instanceof AccessDeniedError) return new SyncError(503, `${err.message}; the instance's storage keys do not reach this path`, 'storage-unavailable');
  if (err instanceof NoSuchBucketError) return new SyncError(503, err.message, 'storage-unavailable');
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT' || code === 'ECONNRESET') {
    return new SyncError(503, `the object store did not answer (${code})`, 'storage-unavailable');
  }
  return err;
}
