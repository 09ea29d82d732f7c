/**
 * Leases over the SQL seam. Changes and stop claims are compare-and-set on `version`, so a
 * renewal racing an expiry, or two replicas acting on one expiry, resolve to one winner.
 */
import type { ISqlDatabase } from '../db/database';
import type { LeaseRecord, LeaseSettings } from './lease';

interface Row {
  instance_id: string;
  timing_hours: number | null;
  idle_minutes: number | null;
  renewed_at: number | null;
  last_activity_at: number | null;
  version: number;
  updated_at: number;
}

const n = (v: number | null): number | null => (v === null ? null : Number(v));
const toRecord = (r: Row): LeaseRecord => ({
  instanceId: r.instance_id, timingHours: n(r.timing_hours), idleMinutes: n(r.idle_minutes), renewedAt: n(r.renewed_at),
  lastActivityAt: n(r.last_activity_at), version: Number(r.version), updatedAt: Number(r.updated_at)
});

export class LeaseStore {
  constructor(private readonly _db: ISqlDatabase) {}

  async get(instanceId: string): Promise<LeaseRecord | undefined> {
    const r = await this._db.get<Row>('SELECT * FROM instance_leases WHERE instance_id = $1', [instanceId]);
    return r ? toRecord(r) : undefined;
  }

  /** Leases of these instances that ask for a TIMING or IDLE stop. */
  async active(instanceIds: readonly string[]): Promise<LeaseRecord[]> {
    if (!instanceIds.length) return [];
    const marks = instanceIds.map((_, i) => `$${i + 1}`).join(', ');
    const rows = await this._db.all<Row>(
      `SELECT * FROM instance_leases WHERE instance_id IN (${marks}) AND (timing_hours IS NOT NULL OR idle_minutes IS NOT NULL)`, [...instanceIds]
    );
    return rows.map(toRecord);
  }

  /** Leases of these instances (for lists). */
  async many(instanceIds: readonly string[]): Promise<Map<string, LeaseRecord>> {
    if (!instanceIds.length) return new Map();
    const marks = instanceIds.map((_, i) => `$${i + 1}`).join(', ');
    const rows = await this._db.all<Row>(`SELECT * FROM instance_leases WHERE instance_id IN (${marks})`, [...instanceIds]);
    return new Map(rows.map(r => [r.instance_id, toRecord(r)]));
  }

  /**
   * Sets the settings. Setting them counts as a renewal and as activity: a 1-hour TIMING
   * lease set on an instance that has run for 3 hours means "one more hour", not "stop now".
   */
  async set(instanceId: string, s: LeaseSettings): Promise<void> {
    const now = Date.now();
    await this._db.transaction(async tx => {
      const { changes } = await tx.run(
        `UPDATE instance_leases SET timing_hours = $1, idle_minutes = $2, renewed_at = $3, last_activity_at = $3, version = version + 1,
           updated_at = $3 WHERE instance_id = $4`,
        [s.timingHours, s.idleMinutes, now, instanceId]
      );
      if (changes === 0) {
        await tx.run(
          `INSERT INTO instance_leases (instance_id, timing_hours, idle_minutes, renewed_at, last_activity_at, version, updated_at)
           VALUES ($1, $2, $3, $4, $4, 1, $4)`,
          [instanceId, s.timingHours, s.idleMinutes, now]
        );
      }
    });
  }

  /** Restarts the TIMING period now (and counts as activity). */
  async renew(instanceId: string, timingHours?: number): Promise<boolean> {
    const now = Date.now();
    const sets = timingHours !== undefined ? ', timing_hours = $3' : '';
    const params: unknown[] = [now, instanceId];
    if (timingHours !== undefined) params.push(timingHours);
    const { changes } = await this._db.run(
      `UPDATE instance_leases SET renewed_at = $1, last_activity_at = $1, version = version + 1, updated_at = $1${sets} WHERE instance_id = $2`, params
    );
    return changes === 1;
  }

  /** Records activity seen at `at` (only moves forward; no version bump: not a decision). */
  async noteActivity(instanceId: string, at: number): Promise<void> {
    await this._db.run(
      'UPDATE instance_leases SET last_activity_at = $1 WHERE instance_id = $2 AND (last_activity_at IS NULL OR last_activity_at < $1)',
      [at, instanceId]
    );
  }

  /**
   * Claims the right to act on an expiry: succeeds for exactly one caller, and only if
   * nothing changed the lease since `version` was read.
   */
  async claim(instanceId: string, version: number, opts: { activityNotAfter?: number } = {}): Promise<boolean> {
    // An idle claim also fails when another replica recorded newer activity meanwhile.
    const idle = opts.activityNotAfter !== undefined ? ' AND (last_activity_at IS NULL OR last_activity_at <= $4)' : '';
    const params: unknown[] = [Date.now(), instanceId, version];
    if (opts.activityNotAfter !== undefined) params.push(opts.activityNotAfter);
    const { changes } = await this._db.run(
      `UPDATE instance_leases SET version = version + 1, updated_at = $1 WHERE instance_id = $2 AND version = $3${idle}`, params
    );
    return changes === 1;
  }
}
