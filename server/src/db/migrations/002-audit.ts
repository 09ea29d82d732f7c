/**
 * The audit trail (SPEC §9), owned by `audit/`.
 */
import type { Migration } from '../migrations';

export const migration: Migration = {
  id: 2,
  name: 'audit events',
  sql: [
    `CREATE TABLE audit_events (
      id TEXT PRIMARY KEY,
      at BIGINT NOT NULL,
      action TEXT NOT NULL,
      actor_id TEXT,
      actor_name TEXT NOT NULL,
      source_ip TEXT,
      resource_type TEXT NOT NULL,
      resource_id TEXT NOT NULL,
      resource_name TEXT,
      resource_owner_id TEXT,
      result TEXT NOT NULL,
      details TEXT
    )`,
    `CREATE INDEX audit_events_at ON audit_events(at)`,
    `CREATE INDEX audit_events_resource ON audit_events(resource_id)`,
    `CREATE INDEX audit_events_actor ON audit_events(actor_id)`,
    `CREATE INDEX audit_events_owner ON audit_events(resource_owner_id)`
  ]
};
