/**
 * VersionTracker: follows submitted versions through the scheduler (SPEC §8 states) and
 * makes the state changes, with their webhook events, when the scheduler reports progress.
 *
 * #### Notes
 * - The scheduler is the source of truth for where a version is (queued, running, ended);
 *   what the tasks reported through the job-agent API only sharpens the reason shown.
 * - It polls active versions every `pollIntervalMs` (with jitter) and looks at once when the
 *   scheduler's watcher or a task's report says something changed. After a gateway restart
 *   the same loop re-queries the scheduler, so versions that ran or ended meanwhile settle.
 * - A version seen finished while still DEPLOYING passes through RUNNING, so webhook
 *   receivers always see `OnJobRunning` before `OnJobSucceeded`.
 * - Before a version is marked ended, its task logs are copied to `<log URL>/V000n/`.
 */
import type { Logger } from '../logger';
import type { IObjectStore } from '../storage/object-store';
import type { ISchedulerAdapter, SchedulerStatus } from '../scheduler/scheduler';
import { ACTIVE_STATUSES, versionLabel, type JobEvent, type JobRecord, type JobStatus, type VersionRecord } from './job';
import type { DeliveryRequest, JobStore, VersionPatch } from './job-store';
import { childDir, locationOf } from './object-url';
import type { WebhookDispatcher } from './webhooks';
import { predecessorsOf } from './state-machine';

export interface VersionTrackerOptions {
  store: JobStore;
  scheduler: ISchedulerAdapter;
  objects: IObjectStore;
  webhooks: WebhookDispatcher;
  pollIntervalMs: number;
  log: Logger;
}

/** Extra looks after a submit or a task's report (ms), before the regular poll takes over. */
const FOLLOW_UP_MS = [100, 250, 500, 1_000, 2_000];

/** Largest log copied to the log URL per task (the scheduler keeps the full one). */
const MAX_LOG_COPY = 256 << 20;

const EVENT_OF: Partial<Record<JobStatus, JobEvent>> = { RUNNING: 'OnJobRunning', SUCCEEDED: 'OnJobSucceeded', FAILED: 'OnJobFailed' };

export class VersionTracker {
  private readonly _checks = new Map<string, Promise<void>>();
  private readonly _again = new Set<string>();
  /** Versions being stopped through the gateway, with the reason to record. */
  private readonly _stopping = new Map<string, string>();
  private _timer: NodeJS.Timeout | null = null;
  private readonly _soon = new Set<NodeJS.Timeout>();
  private _unwatch: (() => void) | null = null;
  private _disposed = false;

  constructor(private readonly _o: VersionTrackerOptions) {}

  start(): void {
    this._unwatch = this._o.scheduler.watch?.(id => this.check(id)) ?? null;
    this._schedule();
  }

  /** Looks at one version now (serialised per version; a request during a check runs after it). */
  check(versionId: string): void {
    if (this._disposed) return;
    if (this._checks.has(versionId)) {
      this._again.add(versionId);
      return;
    }
    const p = this._checkOne(versionId)
      .catch(err => this._o.log.warn({ err, version: versionId }, 'status check failed'))
      .finally(() => {
        this._checks.delete(versionId);
        if (this._again.delete(versionId)) this.check(versionId);
      });
    this._checks.set(versionId, p);
  }

  /**
   * Marks a version as being stopped by a user, so the cancel the scheduler then reports is
   * recorded with this reason (also for other replicas: it is written to the version).
   * @returns a function that forgets the mark.
   */
  async stopping(v: VersionRecord, reason: string): Promise<() => void> {
    this._stopping.set(v.id, reason);
    await this._o.store.noteReason(v.id, reason);
    return () => this._stopping.delete(v.id);
  }

  /**
   * Looks now and a few more times over the next seconds: after a submit or a task's report,
   * the scheduler is about to move (a job starting, a task's exit reaching squeue), and the
   * regular poll would see it up to a poll interval late.
   */
  checkSoon(versionId: string): void {
    this.check(versionId);
    for (const ms of FOLLOW_UP_MS) {
      const t = setTimeout(() => {
        this._soon.delete(t);
        this.check(versionId);
      }, ms);
      t.unref();
      this._soon.add(t);
    }
  }

  /** Waits for the checks in flight (tests, shutdown). */
  async settled(): Promise<void> {
    while (this._checks.size > 0) await Promise.allSettled([...this._checks.values()]);
  }

  private _schedule(): void {
    if (this._disposed) return;
    const jitter = 0.8 + Math.random() * 0.4;
    this._timer = setTimeout(() => {
      void this._pollAll()
        .catch(err => this._o.log.warn({ err }, 'job poll failed'))
        .finally(() => this._schedule());
    }, this._o.pollIntervalMs * jitter);
    this._timer.unref();
  }

  private async _pollAll(): Promise<void> {
    for (const v of await this._o.store.versionsInStatus(ACTIVE_STATUSES)) this.check(v.id);
    await this.settled();
  }

  private async _checkOne(versionId: string): Promise<void> {
    const v = await this._o.store.getVersionById(versionId);
    if (!v || !v.handle || !ACTIVE_STATUSES.includes(v.status)) return;
    await this.apply(v, await this._o.scheduler.status(v.handle));
  }

  /** Moves a version to where the scheduler says it is. */
  async apply(v: VersionRecord, s: SchedulerStatus): Promise<VersionRecord | undefined> {
    switch (s.state) {
      case 'queued':
        if (v.status === 'DEPLOYING' && !this._stopping.has(v.id) && (s.reason ?? null) !== v.statusReason) {
          return this._o.store.transition(v.id, ['DEPLOYING'], 'DEPLOYING', { statusReason: s.reason ?? null });
        }
        return v;
      case 'running':
        return v.status === 'DEPLOYING' ? this._toRunning(v) : v;
      case 'succeeded':
        return this.finish(v, 'SUCCEEDED', { statusReason: null, exitCode: 0 });
      case 'failed':
        return this.finish(v, 'FAILED', { statusReason: await this._reason(v, s.reason), exitCode: s.exitCode ?? null });
      case 'canceled':
        return this.finish(v, 'CANCELED', { statusReason: this._stopping.get(v.id) ?? v.statusReason ?? 'canceled outside the gateway' });
      case 'unknown':
        return this.finish(v, 'FAILED', { statusReason: `the ${this._o.scheduler.kind} scheduler lost track of it: ${s.reason}` });
    }
  }

  /**
   * Ends a version: copies its logs, then moves it to `to` with its event.
   * @returns the updated record, or undefined when it was no longer active.
   */
  async finish(v: VersionRecord, to: 'SUCCEEDED' | 'FAILED' | 'CANCELED', patch: VersionPatch): Promise<VersionRecord | undefined> {
    let cur: VersionRecord | undefined = v;
    const reports = await this._o.store.tasks(v.id);
    if (cur.status === 'DEPLOYING' && (to === 'SUCCEEDED' || (to === 'FAILED' && reports.length > 0))) {
      cur = await this._toRunning(cur);
      if (!cur || cur.status !== 'RUNNING') return cur;
    }
    await this.copyLogs(cur).catch(err => this._o.log.warn({ err, version: v.id }, 'copying logs to the log URL failed'));
    const job = await this._o.store.getJob(cur.jobId);
    const done = await this._o.store.transition(cur.id, predecessorsOf(to), to, { ...patch, finishedAt: Date.now(), pending: null }, this._deliveries(job, cur, to, patch));
    if (done) {
      this._o.log.info({ version: done.id, status: to, reason: done.statusReason }, 'version ended');
      this._o.webhooks.kick();
    }
    return done;
  }

  private async _toRunning(v: VersionRecord): Promise<VersionRecord | undefined> {
    const job = await this._o.store.getJob(v.jobId);
    const next = await this._o.store.transition(v.id, ['DEPLOYING'], 'RUNNING', { startedAt: Date.now(), statusReason: null }, this._deliveries(job, v, 'RUNNING', {}));
    if (next) {
      this._o.log.info({ version: v.id }, 'running');
      this._o.webhooks.kick();
      return next;
    }
    return this._o.store.getVersionById(v.id);
  }

  /** The failure reason: what a task reported (a staging error, the boot file's code), else the scheduler's. */
  private async _reason(v: VersionRecord, fallback: string): Promise<string> {
    const reports = await this._o.store.tasks(v.id);
    const err = reports.find(r => r.state === 'error' && r.message);
    if (err) return `task ${err.task}: ${err.message}`;
    const bad = reports.find(r => r.state === 'finished' && r.exitCode !== 0);
    if (bad) return `task ${bad.task}: the boot file exited with code ${bad.exitCode}`;
    return fallback;
  }

  private _deliveries(job: JobRecord | undefined, v: VersionRecord, to: JobStatus, patch: VersionPatch): DeliveryRequest[] {
    const event = EVENT_OF[to];
    if (!job?.webhook || !event || !job.webhook.events.includes(event)) return [];
    const payload = {
      event,
      time: new Date().toISOString(),
      job: { id: job.id, name: job.name, owner: job.ownerName },
      version: versionLabel(v.version),
      status: to,
      statusReason: 'statusReason' in patch ? patch.statusReason : v.statusReason,
      exitCode: patch.exitCode ?? null,
      outputUrl: `${v.config.outputUrl}${versionLabel(v.version)}/`
    };
    return [{ jobId: job.id, event, url: job.webhook.url, secret: job.webhook.secret, payload }];
  }

  /** Copies every task's log to `<log URL>/V000n/task-<i>.log` (no-op without a log URL). */
  async copyLogs(v: VersionRecord): Promise<void> {
    if (!v.config.logUrl || !v.handle) return;
    const dest = childDir(locationOf(v.config.logUrl), versionLabel(v.version));
    for (let task = 0; task < v.config.nodeCount; task++) {
      const parts: Buffer[] = [];
      let offset = 0;
      let total = 0;
      for (;;) {
        const chunk = await this._o.scheduler.logs(v.handle, { task, offset });
        if (chunk.nextOffset === offset) break;
        const b = Buffer.from(chunk.text);
        parts.push(b);
        total += b.length;
        offset = chunk.nextOffset;
        if (total >= MAX_LOG_COPY) break;
      }
      await this._o.objects.put(dest.bucket, `${dest.prefix}task-${task}.log`, Buffer.concat(parts), { contentType: 'text/plain; charset=utf-8' });
    }
  }

  async dispose(): Promise<void> {
    if (this._disposed) return;
    this._disposed = true;
    if (this._timer) clearTimeout(this._timer);
    for (const t of this._soon) clearTimeout(t);
    this._soon.clear();
    this._unwatch?.();
    await this.settled();
  }
}
