/**
 * Sign-in rate limiting: failed attempts per user name and per client address within a
 * sliding window, kept in the database so every gateway replica counts the same failures.
 *
 * #### Notes
 * An attempt is claimed (written as a failure) before its password is checked, in one
 * serialised transaction with the count: parallel guesses then cannot all see "under the
 * limit" and all be checked (scrypt takes tens of milliseconds, so a burst of 40 guesses
 * would otherwise all pass). A sign-in that succeeds removes its own claim.
 */
import { randomBytes } from 'node:crypto';
import type { ISqlDatabase } from '../db/database';

export interface LoginRateLimitOptions {
  db: ISqlDatabase;
  /** Failures allowed per user name within the window; an address gets 4× as many. */
  maxFailures: number;
  windowMs: number;
  now?: () => number;
}

/** An address may try several names (a shared NAT), so it gets a larger budget. */
const ADDRESS_FACTOR = 4;

export class LoginRateLimiter {
  private readonly _now: () => number;

  constructor(private readonly _o: LoginRateLimitOptions) {
    this._now = _o.now ?? Date.now;
  }

  private _keys(username: string, address: string | null): { key: string; max: number }[] {
    const keys = [{ key: `user:${username.toLowerCase()}`, max: this._o.maxFailures }];
    if (address) keys.push({ key: `ip:${address}`, max: this._o.maxFailures * ADDRESS_FACTOR });
    return keys;
  }

  /**
   * Whether a sign-in may be tried now.
   * @returns 0 when allowed, else the seconds until the oldest failure leaves the window.
   */
  async retryAfter(username: string, address: string | null): Promise<number> {
    return this._wait(this._o.db, username, address);
  }

  /**
   * Claims one attempt before the password is checked: refused when the name or the address
   * is over its limit, else counted as a failure until `succeeded` withdraws it.
   * @returns `{ retryAfter }` (seconds, > 0) when refused, else `{ attempt }` for `succeeded`.
   */
  async claim(username: string, address: string | null): Promise<{ retryAfter: number } | { attempt: string }> {
    const attempt = randomBytes(12).toString('base64url');
    const now = this._now();
    const wait = await this._o.db.transaction(async tx => {
      // Serialises claims across requests and replicas; the transaction is two statements.
      if (tx.dialect === 'postgres') await tx.run('LOCK TABLE login_failures IN SHARE ROW EXCLUSIVE MODE');
      const w = await this._wait(tx, username, address);
      if (w > 0) return w;
      for (const { key } of this._keys(username, address)) {
        await tx.run('INSERT INTO login_failures (key, at, attempt) VALUES ($1, $2, $3)', [key, now, attempt]);
      }
      return 0;
    });
    if (wait > 0) return { retryAfter: wait };
    await this._forgetOld(now);
    return { attempt };
  }

  private async _wait(db: ISqlDatabase, username: string, address: string | null): Promise<number> {
    const since = this._now() - this._o.windowMs;
    let wait = 0;
    for (const { key, max } of this._keys(username, address)) {
      const row = await db.get<{ n: number; oldest: number | null }>(
        'SELECT COUNT(*) AS n, MIN(at) AS oldest FROM login_failures WHERE key = $1 AND at > $2', [key, since]
      );
      if (Number(row?.n ?? 0) >= max) {
        // The n-th most recent failure must age out before another try is allowed.
        const nth = await db.get<{ at: number }>(
          'SELECT at FROM login_failures WHERE key = $1 AND at > $2 ORDER BY at DESC LIMIT 1 OFFSET $3', [key, since, max - 1]
        );
        const at = Number(nth?.at ?? row?.oldest ?? this._now());
        wait = Math.max(wait, Math.ceil((at + this._o.windowMs - this._now()) / 1000));
      }
    }
    return Math.max(wait, 0);
  }

  /** Counts a failed attempt (and forgets failures that left the window). */
  async failed(username: string, address: string | null): Promise<void> {
    const now = this._now();
    for (const { key } of this._keys(username, address)) {
      await this._o.db.run('INSERT INTO login_failures (key, at) VALUES ($1, $2)', [key, now]);
    }
    await this._forgetOld(now);
  }

  /**
   * A successful sign-in clears the name's failures (not the address's earlier ones) and
   * withdraws its own claim.
   */
  async succeeded(username: string, attempt?: string): Promise<void> {
    if (attempt) await this._o.db.run('DELETE FROM login_failures WHERE attempt = $1', [attempt]);
    await this._o.db.run('DELETE FROM login_failures WHERE key = $1', [`user:${username.toLowerCase()}`]);
  }

  /** Every failure that left the window, whoever it was for: the table stays small. */
  private async _forgetOld(now: number): Promise<void> {
    await this._o.db.run('DELETE FROM login_failures WHERE at <= $1', [now - this._o.windowMs]);
  }
}
