/**
 * Users and their tokens, over the SQL seam.
 */
import { randomUUID } from 'node:crypto';
import type { ISqlDatabase } from '../db/database';
import type { Role } from './principal';
import { hashToken, newToken, type TokenKind } from './tokens';

export interface UserRecord {
  id: string;
  name: string;
  role: Role;
  createdAt: number;
  disabled: boolean;
}

interface UserRow {
  id: string;
  name: string;
  role: string;
  password_hash: string | null;
  created_at: number;
  disabled: number;
}

interface TokenRow {
  user_id: string;
  kind: string;
  expires_at: number | null;
}

const toUser = (r: UserRow): UserRecord => ({
  id: r.id, name: r.name, role: r.role as Role, createdAt: Number(r.created_at), disabled: Boolean(r.disabled)
});

export class UserStore {
  constructor(private readonly _db: ISqlDatabase) {}

  async count(): Promise<number> {
    const row = await this._db.get<{ n: number }>('SELECT COUNT(*) AS n FROM users');
    return Number(row?.n ?? 0);
  }

  async create(name: string, role: Role, passwordHash: string | null): Promise<UserRecord> {
    const id = randomUUID();
    const now = Date.now();
    await this._db.run(
      'INSERT INTO users (id, name, password_hash, role, created_at, disabled) VALUES ($1, $2, $3, $4, $5, 0)',
      [id, name, passwordHash, role, now]
    );
    return { id, name, role, createdAt: now, disabled: false };
  }

  async byName(name: string): Promise<(UserRecord & { passwordHash: string | null }) | undefined> {
    const r = await this._db.get<UserRow>('SELECT * FROM users WHERE name = $1', [name]);
    return r ? { ...toUser(r), passwordHash: r.password_hash } : undefined;
  }

  async byId(id: string): Promise<UserRecord | undefined> {
    const r = await this._db.get<UserRow>('SELECT * FROM users WHERE id = $1', [id]);
    return r ? toUser(r) : undefined;
  }

  async list(): Promise<UserRecord[]> {
    return (await this._db.all<UserRow>('SELECT * FROM users ORDER BY name')).map(toUser);
  }

  /**
   * Issues a token for a user.
   * @returns the token (shown once) and its id.
   */
  async issueToken(userId: string, kind: TokenKind, name: string, expiresAt: number | null): Promise<{ id: string; token: string }> {
    const id = randomUUID();
    const token = newToken(kind);
    await this._db.run(
      'INSERT INTO tokens (id, user_id, kind, hash, name, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [id, userId, kind, hashToken(token), name, Date.now(), expiresAt]
    );
    return { id, token };
  }

  /**
   * Resolves a presented token.
   * @returns the user and token kind, `expired`, or undefined when unknown.
   */
  async resolveToken(token: string): Promise<{ user: UserRecord; kind: TokenKind } | 'expired' | undefined> {
    const t = await this._db.get<TokenRow>('SELECT user_id, kind, expires_at FROM tokens WHERE hash = $1', [hashToken(token)]);
    if (!t) return undefined;
    if (t.expires_at !== null && Number(t.expires_at) <= Date.now()) return 'expired';
    const user = await this.byId(t.user_id);
    if (!user || user.disabled) return undefined;
    return { user, kind: t.kind as TokenKind };
  }

  async revokeToken(token: string): Promise<void> {
    await this._db.run('DELETE FROM tokens WHERE hash = $1', [hashToken(token)]);
  }
}
