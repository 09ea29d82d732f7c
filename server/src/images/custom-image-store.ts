/**
 * Persistence of custom images (table `custom_images`).
 */
import { randomUUID } from 'node:crypto';
import type { ISqlDatabase } from '../db/database';
import { Errors } from '../errors';

export type CustomImageStatus = 'CREATING' | 'READY';

/** Where a READY image is with the registry: null when no registry is configured. */
export type PushStatus = 'pending' | 'pushed' | 'failed' | null;

export interface CustomImageRecord {
  id: string;
  ownerId: string;
  ownerName: string;
  name: string;
  tag: string;
  status: CustomImageStatus;
  /** The local Docker reference the runtime starts. */
  ref: string;
  imageId: string | null;
  /** The preset (or custom) image it was saved from. */
  baseImage: string;
  sourceInstanceId: string | null;
  sizeBytes: number | null;
  /** Registry reference and digest when pushed. */
  pushedRef: string | null;
  digest: string | null;
  pushStatus: PushStatus;
  pushError: string | null;
  description: string;
  createdAt: number;
  updatedAt: number;
}

interface Row {
  id: string; owner_id: string; owner_name: string; name: string; tag: string; status: string; ref: string;
  image_id: string | null; base_image: string; source_instance_id: string | null; size_bytes: number | null;
  pushed_ref: string | null; digest: string | null; push_status: string | null; push_error: string | null;
  description: string; created_at: number; updated_at: number;
}

const SELECT = 'SELECT c.*, u.name AS owner_name FROM custom_images c JOIN users u ON u.id = c.owner_id';

const toRecord = (r: Row): CustomImageRecord => ({
  id: r.id, ownerId: r.owner_id, ownerName: r.owner_name, name: r.name, tag: r.tag, status: r.status as CustomImageStatus,
  ref: r.ref, imageId: r.image_id, baseImage: r.base_image, sourceInstanceId: r.source_instance_id,
  sizeBytes: r.size_bytes === null ? null : Number(r.size_bytes), pushedRef: r.pushed_ref, digest: r.digest,
  pushStatus: r.push_status as PushStatus, pushError: r.push_error,
  description: r.description, createdAt: Number(r.created_at), updatedAt: Number(r.updated_at)
});

export class CustomImageStore {
  constructor(private readonly _db: ISqlDatabase) {}

  /**
   * Reserves `name:tag` for the owner with a CREATING row.
   * @param replace - an existing READY image with that tag may be replaced (its row is kept
   *   until the new one is ready, then swapped).
   * @throws IMAGE_TAG_EXISTS, IMAGE_SAVE_IN_PROGRESS
   */
  async reserve(rec: Omit<CustomImageRecord, 'id' | 'ownerName' | 'status' | 'createdAt' | 'updatedAt' | 'imageId' | 'sizeBytes' | 'pushedRef' | 'digest' | 'pushStatus' | 'pushError'>, replace: boolean): Promise<{ id: string; replacing: CustomImageRecord | null }> {
    return this._db.transaction(async tx => {
      const rows = await tx.all<Row>(`${SELECT} WHERE c.owner_id = $1 AND c.name = $2 AND (c.tag = $3 OR c.tag = $4)`, [rec.ownerId, rec.name, rec.tag, `${rec.tag}@saving`]);
      const existing = rows.find(r => r.tag === rec.tag);
      if (rows.some(r => r.status === 'CREATING')) throw Errors.IMAGE_SAVE_IN_PROGRESS(`${rec.name}:${rec.tag}`);
      if (existing && !replace) throw Errors.IMAGE_TAG_EXISTS(`${rec.name}:${rec.tag}`);
      const id = randomUUID();
      const now = Date.now();
      // While replacing, the new row uses a placeholder tag so the old image stays usable.
      const tag = existing ? `${rec.tag}@saving` : rec.tag;
      await tx.run(
        `INSERT INTO custom_images (id, owner_id, name, tag, status, ref, base_image, source_instance_id, description, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 'CREATING', $5, $6, $7, $8, $9, $9)`,
        [id, rec.ownerId, rec.name, tag, rec.ref, rec.baseImage, rec.sourceInstanceId, rec.description, now]
      );
      return { id, replacing: existing ? toRecord(existing) : null };
    });
  }

  /** Marks a save finished; a replaced image's row is removed in the same transaction. */
  async markReady(id: string, fields: { imageId: string; sizeBytes: number; pushStatus: PushStatus }, replacingId: string | null, tag: string): Promise<void> {
    await this._db.transaction(async tx => {
      if (replacingId) await tx.run('DELETE FROM custom_images WHERE id = $1', [replacingId]);
      await tx.run(
        `UPDATE custom_images SET status = 'READY', tag = $1, image_id = $2, size_bytes = $3, push_status = $4, updated_at = $5 WHERE id = $6`,
        [tag, fields.imageId, fields.sizeBytes, fields.pushStatus, Date.now(), id]
      );
    });
  }

  /** Records the outcome of a push. */
  async setPush(id: string, fields: { status: Exclude<PushStatus, null>; pushedRef?: string; digest?: string; error?: string }): Promise<void> {
    await this._db.run(
      'UPDATE custom_images SET push_status = $1, pushed_ref = COALESCE($2, pushed_ref), digest = COALESCE($3, digest), push_error = $4, updated_at = $5 WHERE id = $6',
      [fields.status, fields.pushedRef ?? null, fields.digest ?? null, fields.error ?? null, Date.now(), id]
    );
  }

  /** READY images whose push has not finished (a gateway restart interrupts pushes). */
  async pendingPushes(): Promise<CustomImageRecord[]> {
    return (await this._db.all<Row>(`${SELECT} WHERE c.status = 'READY' AND c.push_status = 'pending'`)).map(toRecord);
  }

  async remove(id: string): Promise<void> {
    await this._db.run('DELETE FROM custom_images WHERE id = $1', [id]);
  }

  async get(id: string): Promise<CustomImageRecord | undefined> {
    const r = await this._db.get<Row>(`${SELECT} WHERE c.id = $1`, [id]);
    return r ? toRecord(r) : undefined;
  }

  async byNameTag(ownerId: string, name: string, tag: string): Promise<CustomImageRecord | undefined> {
    const r = await this._db.get<Row>(`${SELECT} WHERE c.owner_id = $1 AND c.name = $2 AND c.tag = $3 AND c.status = 'READY'`, [ownerId, name, tag]);
    return r ? toRecord(r) : undefined;
  }

  /** READY images, of one owner or all. */
  async list(ownerId?: string): Promise<CustomImageRecord[]> {
    const rows = ownerId
      ? await this._db.all<Row>(`${SELECT} WHERE c.status = 'READY' AND c.owner_id = $1 ORDER BY c.name, c.tag`, [ownerId])
      : await this._db.all<Row>(`${SELECT} WHERE c.status = 'READY' ORDER BY u.name, c.name, c.tag`);
    return rows.map(toRecord);
  }

  /** Saves that never finished (the gateway died): for cleanup at boot. */
  async unfinished(): Promise<CustomImageRecord[]> {
    return (await this._db.all<Row>(`${SELECT} WHERE c.status = 'CREATING'`)).map(toRecord);
  }

  /** Whether any live instance uses the image (by catalogue name, per owner). */
  async inUseByInstances(ownerId: string, catalogueName: string): Promise<string[]> {
    const rows = await this._db.all<{ name: string }>('SELECT name FROM instances WHERE owner_id = $1 AND image = $2 AND deleted_at IS NULL', [ownerId, catalogueName]);
    return rows.map(r => r.name);
  }
}
