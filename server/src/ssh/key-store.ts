/**
 * Users' SSH public keys over the SQL seam (table `ssh_keys`, migration 010).
 */
import { randomUUID } from 'node:crypto';
import type { ISqlDatabase } from '../db/database';
import { Errors } from '../errors';
import type { PublicKeyInfo } from './ssh-keys';

/** Keys one user may register. */
export const MAX_KEYS_PER_USER = 50;

/** Key names: what people call their machines. */
export const KEY_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$/;
export const KEY_NAME_RULE = '1–64 characters: letters, digits, ".", "_", "@", "+" and "-", starting with a letter or digit';

export interface SshKeyRecord {
  id: string;
  userId: string;
  name: string;
  type: string;
  fingerprint: string;
  /** `<type> <base64>` */
  publicKey: string;
  createdAt: number;
  lastUsedAt: number | null;
}

interface Row {
  id: string;
  user_id: string;
  name: string;
  type: string;
  fingerprint: string;
  public_key: string;
  created_at: number;
  last_used_at: number | null;
}

const toRecord = (r: Row): SshKeyRecord => ({
  id: r.id,
  userId: r.user_id,
  name: r.name,
  type: r.type,
  fingerprint: r.fingerprint,
  publicKey: r.public_key,
  createdAt: Number(r.created_at),
  lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at)
});

export class SshKeyStore {
  constructor(private readonly _db: ISqlDatabase) {}

  /**
   * Registers a key for a user.
   * @throws SSH_KEY_EXISTS (same fingerprint or name), SSH_KEY_QUOTA
   */
  async add(userId: string, name: string, key: PublicKeyInfo): Promise<SshKeyRecord> {
    const rec: SshKeyRecord = {
      id: randomUUID(), userId, name, type: key.type, fingerprint: key.fingerprint, publicKey: key.openssh, createdAt: Date.now(), lastUsedAt: null
    };
    await this._db.transaction(async tx => {
      if (tx.dialect === 'postgres') {
        // Serialises concurrent uploads of one user across replicas (the quota check).
        await tx.run('SELECT id FROM users WHERE id = $1 FOR UPDATE', [userId]);
      }
      const count = await tx.get<{ n: number }>('SELECT COUNT(*) AS n FROM ssh_keys WHERE user_id = $1', [userId]);
      if (Number(count?.n ?? 0) >= MAX_KEYS_PER_USER) throw Errors.SSH_KEY_QUOTA(MAX_KEYS_PER_USER);
      const same = await tx.get<{ name: string }>('SELECT name FROM ssh_keys WHERE user_id = $1 AND fingerprint = $2', [userId, key.fingerprint]);
      if (same) throw Errors.SSH_KEY_EXISTS(`You already registered this key (${key.fingerprint}) as "${same.name}"`, { fingerprint: key.fingerprint });
      const named = await tx.get('SELECT id FROM ssh_keys WHERE user_id = $1 AND name = $2', [userId, name]);
      if (named) throw Errors.SSH_KEY_EXISTS(`You already have a key named "${name}"; key names are unique per user`, { name });
      await tx.run(
        'INSERT INTO ssh_keys (id, user_id, name, type, fingerprint, public_key, created_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)',
        [rec.id, userId, name, rec.type, rec.fingerprint, rec.publicKey, rec.createdAt]
      );
    });
    return rec;
  }

  async list(userId: string): Promise<SshKeyRecord[]> {
    const rows = await this._db.all<Row>('SELECT * FROM ssh_keys WHERE user_id = $1 ORDER BY created_at, name', [userId]);
    return rows.map(toRecord);
  }

  /** One of the user's keys. @throws SSH_KEY_NOT_FOUND (also for other users' keys). */
  async get(userId: string, id: string): Promise<SshKeyRecord> {
    const row = await this._db.get<Row>('SELECT * FROM ssh_keys WHERE id = $1 AND user_id = $2', [id, userId]);
    if (!row) throw Errors.SSH_KEY_NOT_FOUND(id);
    return toRecord(row);
  }

  /** Deletes one of the user's keys. @throws SSH_KEY_NOT_FOUND */
  async remove(userId: string, id: string): Promise<SshKeyRecord> {
    const rec = await this.get(userId, id);
    await this._db.run('DELETE FROM ssh_keys WHERE id = $1 AND user_id = $2', [id, userId]);
    return rec;
  }

  /** The user's key with this fingerprint, if registered. */
  async find(userId: string, fingerprint: string): Promise<SshKeyRecord | undefined> {
    const row = await this._db.get<Row>('SELECT * FROM ssh_keys WHERE user_id = $1 AND fingerprint = $2', [userId, fingerprint]);
    return row ? toRecord(row) : undefined;
  }

  /** Records a successful sign-in with the key. */
  async touch(id: string, at = Date.now()): Promise<void> {
    await this._db.run('UPDATE ssh_keys SET last_used_at = $1 WHERE id = $2', [at, id]);
  }
}
