/**
 * Access control (owned by `policy/` and `auth/`): per-user policies, invite-only flavor
 * grants, token scopes, and the sign-in rate limiter's failure log.
 */
import type { Migration } from '../migrations';

export const migration: Migration = {
  id: 3,
  name: 'policies, flavor grants, token scopes, sign-in failures',
  sql: [
    `CREATE TABLE user_policies (
      user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
      document TEXT NOT NULL,
      updated_at BIGINT NOT NULL,
      updated_by TEXT
    )`,
    `CREATE TABLE flavor_grants (
      user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      flavor TEXT NOT NULL,
      granted_by TEXT,
      granted_at BIGINT NOT NULL,
      PRIMARY KEY (user_id, flavor)
    )`,
    `ALTER TABLE tokens ADD COLUMN scope TEXT`,
    `CREATE TABLE login_failures (
      key TEXT NOT NULL,
      at BIGINT NOT NULL
    )`,
    `CREATE INDEX login_failures_key ON login_failures(key, at)`
  ]
};
