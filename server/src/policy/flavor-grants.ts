/**
 * Invite-only flavor grants (SPEC §2): an administrator grants a flavor to a user.
 */
import type { ISqlDatabase } from '../db/database';

export interface FlavorGrant {
  userId: string;
  flavor: string;
  grantedBy: string | null;
  grantedAt: number;
}

interface Row {
  user_id: string;
  flavor: string;
  granted_by: string | null;
  granted_at: number;
}

const toGrant = (r: Row): FlavorGrant => ({ userId: r.user_id, flavor: r.flavor, grantedBy: r.granted_by, grantedAt: Number(r.granted_at) });

export class FlavorGrantStore {
  constructor(private readonly _db: ISqlDatabase) {}

  async list(userId: string): Promise<FlavorGrant[]> {
    return (await this._db.all<Row>('SELECT * FROM flavor_grants WHERE user_id = $1 ORDER BY flavor', [userId])).map(toGrant);
  }

  async flavorsOf(userId: string): Promise<string[]> {
    return (await this.list(userId)).map(g => g.flavor);
  }

  /** @returns false when the grant already existed. */
  async grant(userId: string, flavor: string, by: string): Promise<boolean> {
    const { changes } = await this._db.run(
      `INSERT INTO flavor_grants (user_id, flavor, granted_by, granted_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (user_id, flavor) DO NOTHING`,
      [userId, flavor, by, Date.now()]
    );
    return changes === 1;
  }

  /** @returns false when there was no such grant. */
  async revoke(userId: string, flavor: string): Promise<boolean> {
    const { changes } = await this._db.run('DELETE FROM flavor_grants WHERE user_id = $1 AND flavor = $2', [userId, flavor]);
    return changes === 1;
  }
}
