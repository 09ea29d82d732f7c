/**
 * Per-instance SSH settings over the SQL seam (table `instance_ssh`, migration 010).
 *
 * #### Notes
 * An instance without a row gets the defaults: SSH enabled when its image allows it, from
 * any address. The image's `ssh: false` always wins, whatever a row says.
 */
import type { ISqlDatabase } from '../db/database';
import type { SshSettings } from './validate';

interface Row {
  enabled: number | boolean;
  allow_cidrs: string;
}

export const DEFAULT_SSH_SETTINGS: Readonly<SshSettings> = Object.freeze({ enabled: true, allowCidrs: [] });

export class SshSettingsStore {
  constructor(private readonly _db: ISqlDatabase) {}

  /** The stored settings, or the defaults when none were stored. */
  async get(instanceId: string): Promise<SshSettings> {
    const row = await this._db.get<Row>('SELECT enabled, allow_cidrs FROM instance_ssh WHERE instance_id = $1', [instanceId]);
    if (!row) return { ...DEFAULT_SSH_SETTINGS, allowCidrs: [] };
    return { enabled: Boolean(Number(row.enabled)), allowCidrs: JSON.parse(row.allow_cidrs) as string[] };
  }

  /** Stores the settings (insert or replace). */
  async put(instanceId: string, s: SshSettings): Promise<void> {
    const now = Date.now();
    const cidrs = JSON.stringify(s.allowCidrs);
    // Portable upsert: SQLite ≥ 3.24 and PostgreSQL ≥ 9.5 both speak ON CONFLICT.
    await this._db.run(
      `INSERT INTO instance_ssh (instance_id, enabled, allow_cidrs, updated_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (instance_id) DO UPDATE SET enabled = excluded.enabled, allow_cidrs = excluded.allow_cidrs, updated_at = excluded.updated_at`,
      [instanceId, s.enabled ? 1 : 0, cidrs, now]
    );
  }
}
