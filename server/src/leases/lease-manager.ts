/**
 * LeaseManager: auto-stop (SPEC §6). Users set, read and renew leases; a periodic check on
 * every replica stops RUNNING instances whose TIMING lease ended or that were IDLE too long,
 * and records the stop in the audit trail as the system's.
 *
 * #### Notes
 * - Activity = the agent's feed (kernel messages either way, a busy kernel even when silent,
 *   terminal I/O, SSH channels, non-polling HTTP) plus what this gateway saw (proxied writes
 *   and WebSocket traffic, SSH), plus renewals. The feed is read only when the rest already
 *   says "idle", so a busy fleet costs no polling.
 * - Exactly once across replicas: a stop first claims the lease (compare-and-set on its
 *   version, which also fails if someone renewed or was active meanwhile), then moves the
 *   instance RUNNING → STOPPING (compare-and-set on its status). Only the winner audits.
 * - An agent that does not answer is not stopped as idle on that round: the liveness check
 *   decides whether it is gone.
 */
import type { Logger } from '../logger';
import { Errors } from '../errors';
import type { Principal } from '../auth/principal';
import { SYSTEM_ACTOR, type IAuditLog } from '../audit/audit';
import type { InstanceRecord } from '../instances/instance';
import type { InstanceManager } from '../instances/manager';
import type { InstanceStore } from '../instances/instance-store';
import type { AccessControl } from '../policy/access-control';
import type { LeaseInfo } from '../api/types';
import type { ActivityRecorder } from './activity';
import type { ActivityFeedReader } from './activity-feed';
import { knownActivity, timingExpiry, type LeaseRecord, type LeaseSettings, type StopReason } from './lease';
import type { LeaseStore } from './lease-store';

export interface LeaseManagerOptions {
  leases: LeaseStore;
  instances: Pick<InstanceManager, 'get' | 'stopBySystem'>;
  instanceStore: Pick<InstanceStore, 'inStatus'>;
  access: Pick<AccessControl, 'authorize'>;
  activity: ActivityRecorder;
  feed: ActivityFeedReader;
  audit: IAuditLog;
  checkIntervalMs: number;
  log: Logger;
}

export class LeaseManager {
  private _timer: NodeJS.Timeout | null = null;
  private _running: Promise<void> | null = null;
  private _disposed = false;

  constructor(private readonly _o: LeaseManagerOptions) {}

  /** The lease table, for callers that already authorized (a create setting its lease). */
  get store(): LeaseStore {
    return this._o.leases;
  }

  /** Starts the periodic check (with jitter, so replicas do not fire together). */
  start(): void {
    const schedule = (): void => {
      if (this._disposed) return;
      this._timer = setTimeout(() => {
        this._running = this.check()
          .catch(err => this._o.log.warn({ err }, 'lease check failed'))
          .finally(() => {
            this._running = null;
            schedule();
          });
      }, this._o.checkIntervalMs * (0.8 + Math.random() * 0.4));
      this._timer.unref();
    };
    schedule();
  }

  // ---- API -------------------------------------------------------------------------------

  /** The lease of an instance the principal may see. */
  async get(p: Principal, id: string): Promise<LeaseInfo> {
    const rec = await this._o.instances.get(p, id);
    return this.info(rec, await this._o.leases.get(id));
  }

  /** Replaces the auto-stop settings (any state but DELETING, like other updates). */
  async set(p: Principal, id: string, settings: LeaseSettings): Promise<LeaseInfo> {
    const rec = await this._o.instances.get(p, id);
    await this._o.access.authorize(p, 'notebook:update', { service: 'notebook', id: rec.id, ownerId: rec.ownerId });
    if (rec.status === 'DELETING') throw Errors.INSTANCE_STATE('change the auto-stop of', rec.name, rec.status, 'it is being deleted', { status: rec.status });
    await this._o.leases.set(id, settings);
    return this.info(rec, await this._o.leases.get(id));
  }

  /**
   * Restarts the TIMING period (optionally with a new length) and counts as activity.
   * @throws INSTANCE_STATE unless RUNNING; VALIDATION without a lease.
   */
  async renew(p: Principal, id: string, timingHours?: number): Promise<LeaseInfo> {
    const rec = await this._o.instances.get(p, id);
    await this._o.access.authorize(p, 'notebook:action', { service: 'notebook', id: rec.id, ownerId: rec.ownerId });
    if (rec.status !== 'RUNNING') {
      throw Errors.INSTANCE_STATE('renew the lease of', rec.name, rec.status, 'a lease is renewed while the instance is RUNNING', { status: rec.status });
    }
    const lease = await this._o.leases.get(id);
    if (!lease || (lease.timingHours === null && lease.idleMinutes === null && timingHours === undefined)) {
      throw Errors.VALIDATION(`instance "${rec.name}" has no auto-stop lease to renew; set one with PUT /api/v1/notebooks/${id}/lease`);
    }
    await this._o.leases.renew(id, timingHours);
    this._o.activity.touch(id);
    return this.info(rec, await this._o.leases.get(id));
  }

  /** The wire form of a lease. */
  info(rec: Pick<InstanceRecord, 'id' | 'status' | 'startedAt'>, lease: LeaseRecord | undefined): LeaseInfo {
    const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
    if (!lease) return { timingHours: null, expiresAt: null, idleMinutes: null, lastActivityAt: null, idleStopAt: null };
    const running = rec.status === 'RUNNING';
    const last = Math.max(knownActivity(lease, rec.startedAt), this._o.activity.lastSeen(rec.id) ?? 0) || null;
    return {
      timingHours: lease.timingHours,
      expiresAt: running ? iso(timingExpiry(lease, rec.startedAt)) : null,
      idleMinutes: lease.idleMinutes,
      lastActivityAt: iso(last),
      idleStopAt: running && lease.idleMinutes !== null && last !== null ? iso(last + lease.idleMinutes * 60_000) : null
    };
  }

  // ---- the check -------------------------------------------------------------------------

  /** One pass over RUNNING instances with a lease. */
  async check(): Promise<void> {
    await this._o.activity.flush();
    const running = await this._o.instanceStore.inStatus(['RUNNING']);
    const byId = new Map(running.map(r => [r.id, r]));
    for (const lease of await this._o.leases.active(running.map(r => r.id))) {
      if (this._disposed) return;
      const rec = byId.get(lease.instanceId)!;
      await this._checkOne(rec, lease).catch(err => this._o.log.warn({ err, instance: rec.id }, 'lease check of an instance failed'));
    }
  }

  private async _checkOne(rec: InstanceRecord, lease: LeaseRecord): Promise<void> {
    const now = Date.now();
    const expiry = timingExpiry(lease, rec.startedAt);
    if (expiry !== null && now >= expiry) {
      await this._stop(rec, lease, 'timing', `stopped by its TIMING lease (${lease.timingHours} h)`, { timingHours: lease.timingHours, expiresAt: new Date(expiry).toISOString() });
      return;
    }
    if (lease.idleMinutes === null) return;
    const idleMs = lease.idleMinutes * 60_000;
    let last = Math.max(knownActivity(lease, rec.startedAt), this._o.activity.lastSeen(rec.id) ?? 0);
    if (now - last < idleMs) return;
    const feed = await this._o.feed(rec);
    if (feed === 'unreachable') return;
    if (feed !== 'unavailable') {
      if (feed.busy) {
        // A kernel is running a cell, maybe silently for hours: that is not idle (SPEC §6).
        await this._o.leases.noteActivity(rec.id, now);
        return;
      }
      if (feed.lastActivity > last) {
        last = feed.lastActivity;
        await this._o.leases.noteActivity(rec.id, last);
      }
      if (now - last < idleMs) return;
    }
    await this._stop(rec, { ...lease }, 'idle', `stopped after ${lease.idleMinutes} minutes without activity (IDLE lease)`, {
      idleMinutes: lease.idleMinutes, lastActivityAt: new Date(last).toISOString()
    }, last);
  }

  private async _stop(rec: InstanceRecord, lease: LeaseRecord, reason: StopReason, text: string, details: Record<string, unknown>, activityNotAfter?: number): Promise<void> {
    const claimed = await this._o.leases.claim(rec.id, lease.version, activityNotAfter !== undefined ? { activityNotAfter } : {});
    if (!claimed) return;
    const stopping = await this._o.instances.stopBySystem(rec.id, text);
    if (!stopping) return;
    this._o.activity.forget(rec.id);
    this._o.log.info({ instance: rec.id, reason, ...details }, 'auto-stop');
    await this._o.audit.record({
      action: 'stopNotebook', actor: SYSTEM_ACTOR, sourceIp: null, result: 'success',
      resource: { type: 'notebook', id: rec.id, name: rec.name, ownerId: rec.ownerId }, details: { reason, ...details }
    });
  }

  async dispose(): Promise<void> {
    if (this._disposed) return;
    this._disposed = true;
    if (this._timer) clearTimeout(this._timer);
    await this._running;
  }
}
