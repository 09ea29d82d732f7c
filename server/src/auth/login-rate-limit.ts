/**
 * Sign-in rate limiting: failed attempts per user name and per client address within a
 * sliding window, kept in the database so every gateway replica counts the same failures.
 */
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
    const since = this._now() - this._o.windowMs;
    let wait = 0;
    for (const { key, max } of this._keys(username, address)) {
      const row = await this._o.db.get<{ n: number; oldest: number | null }>(
        'SELECT COUNT(*) AS n, MIN(at) AS oldest FROM login_failures WHERE key = $1 AND at > $2', [key, since]
      );
      if (Number(row?.n ?? 0) >= max) {
        // The n-th most recent failure must age out before another try is allowed.
        const nth = await this._o.db.get<{ at: number }>(
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
    // Every failure that left the window, whoever it was for: the table stays small.
    await this._o.db.run('DELETE FROM login_failures WHERE at <= $1', [now - this._o.windowMs]);
  }

  /** A successful sign-in clears the name's failures (not the address's). */
  async succeeded(username: string): Promise<void> {
    await this._o.db.run('DELETE FROM login_failures WHERE key = $1', [`user:${username.toLowerCase()}`]);
  }
}
