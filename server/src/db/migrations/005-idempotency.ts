/**
 * `Idempotency-Key` records (owned by `api/idempotency.ts`).
 */
import type { Migration } from '../migrations';

export const migration: Migration = {
  id: 5,
  name: 'idempotency keys',
  sql: [
    `CREATE TABLE idempotency_keys (
      user_id TEXT NOT NULL,
      key TEXT NOT NULL,
      request_hash TEXT NOT NULL,
      state TEXT NOT NULL,
      status_code INTEGER,
      headers TEXT,
      body TEXT,
      created_at BIGINT NOT NULL,
      PRIMARY KEY (user_id, key)
    )`,
    `CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at)`
  ]
};
