/**
 * Persistence of instances over the SQL seam. State changes are compare-and-set on the
 * status column, so two requests (or two gateway replicas) can never both win a transition.
 */
import type { ISqlDatabase } from '../db/database';
import { json, statusTransition } from '../db/compare-and-set';
import { liveRowsOf, selectPage } from '../db/page';
import type { DriverState, Endpoint } from '../drivers/driver';
import { Errors } from '../errors';
import type { InstanceRecord, InstanceStatus, StartProgress, StorageType } from './instance';

interface Row {
  id: string;
  owner_id: string;
  owner_name: string;
  name: string;
  description: string;
  image: string;
  flavor: string;
  next_flavor: string | null;
  storage_type: string;
  storage_size_gb: number;
  status: string;
  status_reason: string | null;
  pending: string | null;
  agent_token: string;
  driver: string;
  driver_state: string | null;
  endpoint: string | null;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  deleted_at: number | null;
  start_progress: string | null;
}

const SELECT = `SELECT i.*, u.name AS owner_name FROM instances i JOIN users u ON u.id = i.owner_id`;

function toRecord(r: Row): InstanceRecord {
  return {
    id: r.id,
    ownerId: r.owner_id,
    ownerName: r.owner_name,
    name: r.name,
    description: r.description,
    image: r.image,
    flavor: r.flavor,
    nextFlavor: r.next_flavor ?? null,
    storageType: r.storage_type as StorageType,
    storageSizeGB: Number(r.storage_size_gb),
    status: r.status as InstanceStatus,
    statusReason: r.status_reason,
    pending: r.pending,
    agentToken: r.agent_token,
    driver: r.driver,
    driverState: r.driver_state ? (JSON.parse(r.driver_state) as DriverState) : null,
    endpoint: r.endpoint ? (JSON.parse(r.endpoint) as Endpoint) : null,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    startedAt: r.started_at === null ? null : Number(r.started_at),
    deletedAt: r.deleted_at === null ? null : Number(r.deleted_at),
    startProgress: r.start_progress ? (JSON.parse(r.start_progress) as StartProgress) : null
  };
}

/** Fields a transition may set alongside the status. */
export interface TransitionPatch {
  statusReason?: string | null;
  pending?: string | null;
  driverState?: DriverState | null;
  endpoint?: Endpoint | null;
  startedAt?: number | null;
  flavor?: string;
  nextFlavor?: string | null;
}

export class InstanceStore {
  constructor(private readonly _db: ISqlDatabase) {}

  /**
   * Inserts a new instance unless the owner is at quota or already uses the name.
   * @throws INSTANCE_QUOTA, INSTANCE_NAME_TAKEN
   */
  async insertWithinQuota(rec: Omit<InstanceRecord, 'ownerName'>, quota: number): Promise<void> {
    await this._db.transaction(async tx => {
      if (tx.dialect === 'postgres') {
        // Serialises concurrent creates of one user across replicas.
        await tx.run('SELECT id FROM users WHERE id = $1 FOR UPDATE', [rec.ownerId]);
      }
      const row = await tx.get<{ n: number }>('SELECT COUNT(*) AS n FROM instances WHERE owner_id = $1 AND deleted_at IS NULL', [rec.ownerId]);
      const n = Number(row?.n ?? 0);
      if (n >= quota) throw Errors.INSTANCE_QUOTA(n, quota);
      const taken = await tx.get('SELECT id FROM instances WHERE owner_id = $1 AND name = $2 AND deleted_at IS NULL', [rec.ownerId, rec.name]);
      if (taken) throw Errors.INSTANCE_NAME_TAKEN(rec.name);
      await tx.run(
        `INSERT INTO instances (id, owner_id, name, description, image, flavor, storage_type, storage_size_gb, status,
           status_reason, pending, agent_token, driver, driver_state, endpoint, created_at, updated_at, started_at, deleted_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
        [
          rec.id, rec.ownerId, rec.name, rec.description, rec.image, rec.flavor, rec.storageType, rec.storageSizeGB, rec.status,
          rec.statusReason, rec.pending, rec.agentToken, rec.driver, rec.driverState ? JSON.stringify(rec.driverState) : null,
          rec.endpoint ? JSON.stringify(rec.endpoint) : null, rec.createdAt, rec.updatedAt, rec.startedAt, null
        ]
      );
    });
  }

  /** A live (not deleted) instance by id. */
  async get(id: string): Promise<InstanceRecord | undefined> {
    const r = await this._db.get<Row>(`${SELECT} WHERE i.id = $1 AND i.deleted_at IS NULL`, [id]);
    return r ? toRecord(r) : undefined;
  }

  /** Live instances, optionally of one owner, newest first. */
  async list(opts: { ownerId?: string; limit: number; offset: number }): Promise<{ items: InstanceRecord[]; total: number }> {
    return selectPage(this._db, { select: SELECT, countFrom: 'instances i', ...liveRowsOf('i', opts.ownerId), orderBy: 'i.created_at DESC, i.id', limit: opts.limit, offset: opts.offset }, toRecord);
  }

  /** Live instances in any of these states. */
  async inStatus(statuses: readonly InstanceStatus[]): Promise<InstanceRecord[]> {
    const marks = statuses.map((_, i) => `$${i + 1}`).join(', ');
    return (await this._db.all<Row>(`${SELECT} WHERE i.deleted_at IS NULL AND i.status IN (${marks})`, [...statuses])).map(toRecord);
  }

  /**
   * Moves an instance from one of `from` to `to`, atomically.
   * @returns the updated record, or undefined when it was not in one of `from` (or is gone).
   */
  async transition(id: string, from: readonly InstanceStatus[], to: InstanceStatus, patch: TransitionPatch = {}): Promise<InstanceRecord | undefined> {
    const cols: [string, unknown][] = [];
    if ('statusReason' in patch) cols.push(['status_reason', patch.statusReason]);
    if ('pending' in patch) cols.push(['pending', patch.pending]);
    if ('driverState' in patch) cols.push(['driver_state', json(patch.driverState)]);
    if ('endpoint' in patch) cols.push(['endpoint', json(patch.endpoint)]);
    if ('startedAt' in patch) cols.push(['started_at', patch.startedAt]);
    if ('flavor' in patch) cols.push(['flavor', patch.flavor]);
    if ('nextFlavor' in patch) cols.push(['next_flavor', patch.nextFlavor]);
    const { sql, params } = statusTransition('instances', id, from, to, cols, Date.now());
    const { changes } = await this._db.run(sql, params);
    return changes === 1 ? this.get(id) : undefined;
  }

  /** Records the progress of the instance's current start (not a change of state: `updated_at` stays). */
  async recordProgress(id: string, progress: StartProgress): Promise<void> {
    await this._db.run('UPDATE instances SET start_progress = $1 WHERE id = $2', [JSON.stringify(progress), id]);
  }

  /** Updates fields that do not change the state. */
  async update(id: string, fields: { description?: string; nextFlavor?: string | null }): Promise<void> {
    if (fields.description !== undefined) {
      await this._db.run('UPDATE instances SET description = $1, updated_at = $2 WHERE id = $3 AND deleted_at IS NULL', [fields.description, Date.now(), id]);
    }
    if (fields.nextFlavor !== undefined) {
      await this._db.run('UPDATE instances SET next_flavor = $1, updated_at = $2 WHERE id = $3 AND deleted_at IS NULL', [fields.nextFlavor, Date.now(), id]);
    }
  }

  /** Marks a DELETING instance deleted; it no longer counts for quota or names. */
  async markDeleted(id: string): Promise<boolean> {
    const now = Date.now();
    const { changes } = await this._db.run(
      `UPDATE instances SET deleted_at = $1, updated_at = $1, pending = NULL, endpoint = NULL WHERE id = $2 AND status = 'DELETING' AND deleted_at IS NULL`,
      [now, id]
    );
    return changes === 1;
  }

  /** Deleted instances whose storage is due for purging. */
  async purgeable(deletedBefore: number): Promise<string[]> {
    const rows = await this._db.all<{ id: string }>('SELECT id FROM instances WHERE deleted_at IS NOT NULL AND deleted_at < $1 AND purged_at IS NULL', [deletedBefore]);
    return rows.map(r => r.id);
  }

  async markPurged(id: string): Promise<void> {
    await this._db.run('UPDATE instances SET purged_at = $1 WHERE id = $2', [Date.now(), id]);
  }
}
