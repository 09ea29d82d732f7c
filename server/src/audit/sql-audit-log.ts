/**
 * The audit trail in the gateway's database (SQLite or PostgreSQL), with retention.
 */
import { randomBytes } from 'node:crypto';
import type { ISqlDatabase } from '../db/database';
import { selectPage } from '../db/page';
import type { Logger } from '../logger';
import type { AuditAction, AuditEvent, AuditQuery, AuditRecord, AuditResourceType, AuditResult, IAuditLog } from './audit';

interface Row {
  id: string;
  at: number;
  action: string;
  actor_id: string | null;
  actor_name: string;
  source_ip: string | null;
  resource_type: string;
  resource_id: string;
  resource_name: string | null;
  resource_owner_id: string | null;
  result: string;
  details: string | null;
}

export interface SqlAuditLogOptions {
  db: ISqlDatabase;
  retentionDays: number;
  log: Logger;
  /** How often expired records are purged. */
  purgeIntervalMs?: number;
}

let seq = 0;

/** Ids sort like insertion order within a replica (time, then a counter), unique across replicas. */
function newId(at: number): string {
  seq = (seq + 1) % 0xffffffff;
  return `${at.toString(16).padStart(12, '0')}-${seq.toString(16).padStart(8, '0')}-${randomBytes(4).toString('hex')}`;
}

const toRecord = (r: Row): AuditRecord => ({
  id: r.id,
  time: new Date(Number(r.at)).toISOString(),
  action: r.action as AuditAction,
  actor: { id: r.actor_id, name: r.actor_name },
  sourceIp: r.source_ip,
  resource: { type: r.resource_type as AuditResourceType, id: r.resource_id, name: r.resource_name, ownerId: r.resource_owner_id },
  result: r.result as AuditResult,
  details: r.details ? (JSON.parse(r.details) as Record<string, unknown>) : null
});

export class SqlAuditLog implements IAuditLog {
  private _timer: NodeJS.Timeout | null = null;
  private _disposed = false;

  constructor(private readonly _o: SqlAuditLogOptions) {}

  /** Purges once now, then periodically. */
  start(): void {
    const sweep = (): void => {
      void this.purgeExpired().catch(err => this._o.log.warn({ err }, 'audit purge failed'));
    };
    sweep();
    this._timer = setInterval(sweep, this._o.purgeIntervalMs ?? 3_600_000);
    this._timer.unref();
  }

  async record(e: AuditEvent): Promise<void> {
    if (this._disposed) return;
    const at = Date.now();
    try {
      await this._o.db.run(
        `INSERT INTO audit_events (id, at, action, actor_id, actor_name, source_ip, resource_type, resource_id, resource_name,
           resource_owner_id, result, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
        [
          newId(at), at, e.action, e.actor.id, e.actor.name, e.sourceIp, e.resource.type, e.resource.id,
          e.resource.name ?? null, e.resource.ownerId ?? null, e.result, e.details ? JSON.stringify(e.details) : null
        ]
      );
    } catch (err) {
      // The operation itself already happened; losing its record is an operator problem.
      this._o.log.error({ err, action: e.action, resource: e.resource.id }, 'could not write an audit record');
    }
  }

  async query(q: AuditQuery): Promise<{ items: AuditRecord[]; total: number }> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: (mark: string) => string, v: unknown): void => {
      params.push(v);
      where.push(sql(`$${params.length}`));
    };
    if (q.actions?.length) {
      const marks = q.actions.map(a => {
        params.push(a);
        return `$${params.length}`;
      });
      where.push(`action IN (${marks.join(', ')})`);
    }
    if (q.actorId !== undefined) add(m => `actor_id = ${m}`, q.actorId);
    if (q.actorName !== undefined) add(m => `actor_name = ${m}`, q.actorName);
    if (q.resourceType !== undefined) add(m => `resource_type = ${m}`, q.resourceType);
    if (q.resourceId !== undefined) add(m => `resource_id = ${m}`, q.resourceId);
    if (q.result !== undefined) add(m => `result = ${m}`, q.result);
    if (q.since !== undefined) add(m => `at >= ${m}`, q.since);
    if (q.until !== undefined) add(m => `at < ${m}`, q.until);
    if (q.visibleTo !== undefined) {
      params.push(q.visibleTo);
      where.push(`(actor_id = $${params.length} OR resource_owner_id = $${params.length})`);
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    return selectPage(this._o.db, { select: 'SELECT * FROM audit_events', countFrom: 'audit_events', where: clause, params, orderBy: 'at DESC, id DESC', limit: q.limit, offset: q.offset }, toRecord);
  }

  async purgeExpired(): Promise<number> {
    const before = Date.now() - this._o.retentionDays * 86_400_000;
    const { changes } = await this._o.db.run('DELETE FROM audit_events WHERE at < $1', [before]);
    if (changes) this._o.log.info({ purged: changes, retentionDays: this._o.retentionDays }, 'purged expired audit records');
    return changes;
  }

  async dispose(): Promise<void> {
    if (this._disposed) return;
    this._disposed = true;
    if (this._timer) clearInterval(this._timer);
  }
}
