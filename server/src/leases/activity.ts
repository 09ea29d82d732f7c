/**
 * Activity the gateway itself sees (proxied requests and WebSocket traffic, SSH channels),
 * kept in memory on the hot path and written to the leases table in batches so every
 * replica's idle check sees it.
 */
import type { Logger } from '../logger';
import type { LeaseStore } from './lease-store';

export interface ActivityRecorderOptions {
  leases: LeaseStore;
  /** How often pending activity is written to the database. */
  flushIntervalMs: number;
  log: Logger;
}

export class ActivityRecorder {
  private readonly _pending = new Map<string, number>();
  private readonly _latest = new Map<string, number>();
  private _timer: NodeJS.Timeout | null = null;
  private _disposed = false;

  constructor(private readonly _o: ActivityRecorderOptions) {}

  start(): void {
    this._timer = setInterval(() => void this.flush().catch(err => this._o.log.warn({ err }, 'activity flush failed')), this._o.flushIntervalMs);
    this._timer.unref();
  }

  /**
   * Records activity on an instance now. Cheap: one map write. Called by the proxy for
   * requests that are not timer-driven reads and for WebSocket traffic, and by the SSH
   * gateway for channel traffic (docs/architecture.md "Contracts between areas").
   */
  touch(instanceId: string, at: number = Date.now()): void {
    if (this._disposed) return;
    this._pending.set(instanceId, at);
    this._latest.set(instanceId, at);
  }

  /** The latest activity this replica saw, flushed or not. */
  lastSeen(instanceId: string): number | undefined {
    return this._latest.get(instanceId);
  }

  /** Writes pending activity to the database. */
  async flush(): Promise<void> {
    const batch = [...this._pending];
    this._pending.clear();
    for (const [id, at] of batch) await this._o.leases.noteActivity(id, at);
  }

  /** Forgets an instance (stopped or deleted). */
  forget(instanceId: string): void {
    this._pending.delete(instanceId);
    this._latest.delete(instanceId);
  }

  async dispose(): Promise<void> {
    if (this._disposed) return;
    this._disposed = true;
    if (this._timer) clearInterval(this._timer);
    await this.flush().catch(() => undefined);
  }
}
