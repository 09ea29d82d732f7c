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
  id: string;
  user_id: string;
  kind: string;
  name: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  scope: string | null;
}

/** A token as listed to its owner; the secret itself is never stored. */
export interface TokenInfo {
  id: string;
  kind: TokenKind;
  name: string;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  /** Action patterns the token is limited to; null = everything the user may do. */
  scope: string[] | null;
}

/** What a presented token resolves to. */
export interface ResolvedToken {
  user: UserRecord;
  kind: TokenKind;
  tokenId: string;
  scope: string[] | null;
}

/** `last_used_at` is written at most this often per token (it is informational). */
const LAST_USED_RESOLUTION_MS = 60_000;

const toTokenInfo = (r: TokenRow): TokenInfo => ({
  id: r.id, kind: r.kind as TokenKind, name: r.name, createdAt: Number(r.created_at),
  expiresAt: r.expires_at === null ? null : Number(r.expires_at), lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
  scope: r.scope ? (JSON.parse(r.scope) as string[]) : null
});

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
  async issueToken(userId: string, kind: TokenKind, name: string, expiresAt: number | null, scope: readonly string[] | null = null): Promise<{ id: string; token: string }> {
    const id = randomUUID();
    const token = newToken(kind);
    await this._db.run(
      'INSERT INTO tokens (id, user_id, kind, hash, name, created_at, expires_at, scope) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
      [id, userId, kind, hashToken(token), name, Date.now(), expiresAt, scope ? JSON.stringify(scope) : null]
    );
    return { id, token };
  }

  /**
   * Resolves a presented token.
   * @returns the user and token kind, `expired`, or undefined when unknown.
   */
  async resolveToken(token: string): Promise<ResolvedToken | 'expired' | undefined> {
    const t = await this._db.get<TokenRow>('SELECT * FROM tokens WHERE hash = $1', [hashToken(token)]);
    if (!t) return undefined;
    const now = Date.now();
    if (t.expires_at !== null && Number(t.expires_at) <= now) return 'expired';
    const user = await this.byId(t.user_id);
    if (!user || user.disabled) return undefined;
    if (t.last_used_at === null || now - Number(t.last_used_at) > LAST_USED_RESOLUTION_MS) {
      await this._db.run('UPDATE tokens SET last_used_at = $1 WHERE id = $2', [now, t.id]);
    }
    return { user, kind: t.kind as TokenKind, tokenId: t.id, scope: t.scope ? (JSON.parse(t.scope) as string[]) : null };
  }

  /** A user's tokens of one kind, newest first, without secrets. */
  async listTokens(userId: string, kind: TokenKind): Promise<TokenInfo[]> {
    const rows = await this._db.all<TokenRow>('SELECT * FROM tokens WHERE user_id = $1 AND kind = $2 ORDER BY created_at DESC, id', [userId, kind]);
    return rows.map(toTokenInfo);
  }

  /** Revokes one of a user's tokens. @returns false when the user has no such token. */
  async revokeTokenById(userId: string, id: string): Promise<boolean> {
    const { changes } = await this._db.run('DELETE FROM tokens WHERE id = $1 AND user_id = $2', [id, userId]);
    return changes === 1;
  }

  /** Revokes a user's tokens (of a kind, or all), except one. @returns how many. */
  async revokeAllTokens(userId: string, opts: { kind?: TokenKind; exceptId?: string } = {}): Promise<number> {
    const params: unknown[] = [userId];
    let sql = 'DELETE FROM tokens WHERE user_id = $1';
    if (opts.kind) {
      params.push(opts.kind);
      sql += ` AND kind = $${params.length}`;
    }
    if (opts.exceptId) {
      params.push(opts.exceptId);
      sql += ` AND id <> $${params.length}`;
    }
    return (await this._db.run(sql, params)).changes;
  }

  /**
   * Deletes tokens that expired before `before` (housekeeping). Recently expired ones are
   * kept so their holders are told "expired" rather than "unknown".
   */
  async purgeExpiredTokens(before: number): Promise<number> {
    return (await this._db.run('DELETE FROM tokens WHERE expires_at IS NOT NULL AND expires_at <= $1', [before])).changes;
  }

  /** Changes a user's role, enabled state or password hash. */
  async update(id: string, fields: { role?: Role; disabled?: boolean; passwordHash?: string }): Promise<void> {
    const sets: string[] = [];
    const params: unknown[] = [];
    const add = (col: string, v: unknown): void => {
      params.push(v);
      sets.push(`${col} = $${params.length}`);
    };
    if (fields.role !== undefined) add('role', fields.role);
    if (fields.disabled !== undefined) add('disabled', fields.disabled ? 1 : 0);
    if (fields.passwordHash !== undefined) add('password_hash', fields.passwordHash);
    if (!sets.length) return;
    params.push(id);
    await this._db.run(`UPDATE users SET ${sets.join(', ')} WHERE id = $${params.length}`, params);
  }

  /** Enabled administrators. */
  async enabledAdmins(): Promise<UserRecord[]> {
    return (await this._db.all<UserRow>(`SELECT * FROM users WHERE role = 'admin' AND disabled = 0 ORDER BY name`)).map(toUser);
  }

  async revokeToken(token: string): Promise<void> {
    await this._db.run('DELETE FROM tokens WHERE hash = $1', [hashToken(token)]);
  }
}
