/**
 * Auto-stop leases (SPEC §6), owned by `leases/`.
 */
import type { Migration } from '../migrations';

export const migration: Migration = {
  id: 4,
  name: 'instance leases',
  sql: [
    `CREATE TABLE instance_leases (
      instance_id TEXT PRIMARY KEY REFERENCES instances(id),
      timing_hours INTEGER,
      idle_minutes DOUBLE PRECISION,
      renewed_at BIGINT,
      last_activity_at BIGINT,
      version INTEGER NOT NULL DEFAULT 0,
      updated_at BIGINT NOT NULL
    )`
  ]
};
