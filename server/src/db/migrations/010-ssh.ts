/**
 * SSH (issue 6): users' public keys and per-instance SSH settings.
 *
 * #### Notes
 * - A key is unique per user (by fingerprint and by name), not globally: the SSH user name
 *   names the account (`<user>+<instance>`), so the same public key registered by two
 *   accounts is not ambiguous, and nobody can block someone else's key by uploading it first.
 * - An instance without an `instance_ssh` row uses the defaults: enabled when its image
 *   allows SSH, reachable from any address.
 */
import type { Migration } from '../migrations';

export const migration: Migration = {
  id: 10,
  name: 'ssh keys and per-instance ssh settings',
  sql: [
    `CREATE TABLE ssh_keys (
      id TEXT PRIMARY KEY,
      user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      name TEXT NOT NULL,
      type TEXT NOT NULL,
      fingerprint TEXT NOT NULL,
      public_key TEXT NOT NULL,
      created_at BIGINT NOT NULL,
      last_used_at BIGINT
    )`,
    `CREATE UNIQUE INDEX ssh_keys_user_fingerprint ON ssh_keys(user_id, fingerprint)`,
    `CREATE UNIQUE INDEX ssh_keys_user_name ON ssh_keys(user_id, name)`,
    `CREATE TABLE instance_ssh (
      instance_id TEXT PRIMARY KEY REFERENCES instances(id) ON DELETE CASCADE,
      enabled INTEGER NOT NULL,
      allow_cidrs TEXT NOT NULL,
      updated_at BIGINT NOT NULL
    )`
  ]
};
