/**
 * Users, tokens and instances: the walking skeleton's schema.
 */
import type { Migration } from '../migrations';

export const migration: Migration = {
  id: 1,
  name: 'users, tokens, instances',
  sql: [
    `CREATE TABLE users (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL UNIQUE,
      password_hash TEXT,
      role TEXT NOT NULL,
      created_at BIGINT NOT NULL,
      disabled INTEGER NOT NULL DEFAULT 0
    )`,
    `CREATE TABLE tokens (
      id TEXT PRIMARY KEY,
      user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      kind TEXT NOT NULL,
      hash TEXT NOT NULL UNIQUE,
      name TEXT NOT NULL DEFAULT '',
      created_at BIGINT NOT NULL,
      expires_at BIGINT,
      last_used_at BIGINT
    )`,
    `CREATE INDEX tokens_user ON tokens(user_id)`,
    `CREATE TABLE instances (
      id TEXT PRIMARY KEY,
      owner_id TEXT NOT NULL REFERENCES users(id),
      name TEXT NOT NULL,
      description TEXT NOT NULL DEFAULT '',
      image TEXT NOT NULL,
      flavor TEXT NOT NULL,
      storage_type TEXT NOT NULL,
      storage_size_gb INTEGER NOT NULL,
      status TEXT NOT NULL,
      status_reason TEXT,
      pending TEXT,
      agent_token TEXT NOT NULL,
      driver TEXT NOT NULL,
      driver_state TEXT,
      endpoint TEXT,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL,
      started_at BIGINT,
      deleted_at BIGINT,
      purged_at BIGINT
    )`,
    `CREATE UNIQUE INDEX instances_owner_name ON instances(owner_id, name) WHERE deleted_at IS NULL`,
    `CREATE INDEX instances_owner ON instances(owner_id)`,
    `CREATE INDEX instances_status ON instances(status)`
  ]
};
