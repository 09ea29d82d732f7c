/**
 * `openNotebook` records for proxied traffic. A browser opening JupyterLab makes hundreds of
 * requests; the trail gets one record per user, instance and outcome per window instead.
 */
import type { AuditActor, AuditResource, AuditResult, IAuditLog } from './audit';

export interface OpenAuditOptions {
  audit: IAuditLog;
  /** One record per (user, instance, result) per window. */
  windowMs?: number;
  now?: () => number;
}

export class OpenAudit {
  private readonly _seen = new Map<string, number>();
  private readonly _window: number;
  private readonly _now: () => number;

  constructor(private readonly _o: OpenAuditOptions) {
    this._window = _o.windowMs ?? 10 * 60_000;
    this._now = _o.now ?? Date.now;
  }

  /**
   * Records an open (or a refused one) unless the same was recorded within the window.
   * @returns whether a record was written.
   */
  async note(actor: AuditActor, sourceIp: string | null, resource: AuditResource, result: AuditResult, details?: Record<string, unknown>): Promise<boolean> {
    const now = this._now();
    const key = `${actor.id ?? actor.name}\u0000${resource.id}\u0000${result}`;
    const last = this._seen.get(key);
    if (last !== undefined && now - last < this._window) return false;
    this._seen.set(key, now);
    if (this._seen.size > 10_000) this._prune(now);
    await this._o.audit.record({ action: 'openNotebook', actor, sourceIp, resource, result, ...(details ? { details } : {}) });
    return true;
  }

  private _prune(now: number): void {
    for (const [k, t] of this._seen) if (now - t >= this._window) this._seen.delete(k);
  }
}
