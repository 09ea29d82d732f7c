/**
 * Per-user access policies, set by administrators, over the SQL seam.
 */
import type { ISqlDatabase } from '../db/database';
import type { PolicyDocument } from './policy';

export interface StoredPolicy extends PolicyDocument {
  updatedAt: number;
  updatedBy: string | null;
}

export class PolicyStore {
  constructor(private readonly _db: ISqlDatabase) {}

  async get(userId: string): Promise<StoredPolicy | undefined> {
    const r = await this._db.get<{ document: string; updated_at: number; updated_by: string | null }>(
      'SELECT document, updated_at, updated_by FROM user_policies WHERE user_id = $1', [userId]
    );
    if (!r) return undefined;
    return { ...(JSON.parse(r.document) as PolicyDocument), updatedAt: Number(r.updated_at), updatedBy: r.updated_by };
  }

  /** Replaces the user's policy (an empty document removes it). */
  async set(userId: string, doc: PolicyDocument, by: string): Promise<void> {
    await this._db.transaction(async tx => {
      await tx.run('DELETE FROM user_policies WHERE user_id = $1', [userId]);
      if (doc.statements.length) {
        await tx.run('INSERT INTO user_policies (user_id, document, updated_at, updated_by) VALUES ($1, $2, $3, $4)', [
          userId, JSON.stringify({ statements: doc.statements }), Date.now(), by
        ]);
      }
    });
  }
}
