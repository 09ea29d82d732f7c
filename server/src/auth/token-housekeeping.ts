/**
 * Removes sessions and API tokens that expired more than a week ago, hourly, so the tokens
 * table holds what can still be presented (and, for a week, what should be told "expired").
 */
import type { Logger } from '../logger';
import type { UserStore } from './user-store';

const KEEP_EXPIRED_MS = 7 * 86_400_000;

export class TokenHousekeeping {
  private _timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly _users: UserStore,
    private readonly _log: Logger,
    private readonly _intervalMs = 3_600_000
  ) {}

  start(): void {
    const sweep = (): void => {
      void this._users.purgeExpiredTokens(Date.now() - KEEP_EXPIRED_MS).then(
        n => n && this._log.info({ purged: n }, 'removed long-expired tokens'),
        err => this._log.warn({ err }, 'token purge failed')
      );
    };
    sweep();
    this._timer = setInterval(sweep, this._intervalMs);
    this._timer.unref();
  }

  dispose(): void {
    if (this._timer) clearInterval(this._timer);
    this._timer = null;
  }
}
