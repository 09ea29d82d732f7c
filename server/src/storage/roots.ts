/**
 * Users' storage roots: the bucket and prefix each user's data lives under (their instances'
 * OBS paths, Sync OBS selections, push and pull prefixes are all relative to it). The default
 * is the deployment's bucket and `users/<name>/`; an administrator may set another.
 */
import type { ISqlDatabase } from '../db/database';
import type { StorageRoot } from './credentials';
import { normalisePrefix } from './paths';

export interface StorageRootsOptions {
  db: ISqlDatabase;
  defaultBucket: string;
  /** `{user}` is replaced by the user name. */
  prefixTemplate: string;
}

export interface StorageRootRecord extends StorageRoot {
  /** True when an administrator set it (false: the deployment's default). */
  custom: boolean;
}

export class StorageRoots {
  constructor(private readonly _o: StorageRootsOptions) {}

  /** The root of a user. */
  async rootOf(user: { id: string; name: string }): Promise<StorageRootRecord> {
    const row = await this._o.db.get<{ bucket: string; prefix: string }>('SELECT bucket, prefix FROM storage_roots WHERE user_id = $1', [user.id]);
    if (row) return { bucket: row.bucket, prefix: row.prefix, custom: true };
    return { bucket: this._o.defaultBucket, prefix: normalisePrefix(this._o.prefixTemplate.replaceAll('{user}', user.name)), custom: false };
  }

  /** Sets a user's root; null restores the default. */
  async setRoot(userId: string, root: StorageRoot | null, by: string): Promise<void> {
    if (!root) {
      await this._o.db.run('DELETE FROM storage_roots WHERE user_id = $1', [userId]);
      return;
    }
    await this._o.db.transaction(async tx => {
      await tx.run('DELETE FROM storage_roots WHERE user_id = $1', [userId]);
      await tx.run('INSERT INTO storage_roots (user_id, bucket, prefix, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5)', [userId, root.bucket, root.prefix, Date.now(), by]);
    });
  }
}
