/**
 * Object storage (issue 7): each user's storage root, when an administrator set one other
 * than the deployment's default (`storageBucket` + `storageUserPrefix`).
 */
import type { Migration } from '../migrations';

export const migration: Migration = {
  id: 20,
  name: 'storage roots per user',
  sql: [
    `CREATE TABLE storage_roots (
      user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
      bucket TEXT NOT NULL,
      prefix TEXT NOT NULL,
      updated_at BIGINT NOT NULL,
      updated_by TEXT NOT NULL
    )`
  ]
};
