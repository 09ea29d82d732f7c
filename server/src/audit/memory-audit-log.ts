/**
 * An in-memory audit log for unit tests of modules that record events (STYLE.md §8).
 */
import type { AuditEvent, AuditQuery, AuditRecord, IAuditLog } from './audit';

export class MemoryAuditLog implements IAuditLog {
  readonly records: AuditRecord[] = [];
  private _seq = 0;

  async record(e: AuditEvent): Promise<void> {
    this.records.unshift({
      id: String(++this._seq),
      time: new Date().toISOString(),
      action: e.action,
      actor: e.actor,
      sourceIp: e.sourceIp,
      resource: { type: e.resource.type, id: e.resource.id, name: e.resource.name ?? null, ownerId: e.resource.ownerId ?? null },
      result: e.result,
      details: e.details ?? null
    });
  }

  async query(q: AuditQuery): Promise<{ items: AuditRecord[]; total: number }> {
    const hits = this.records.filter(r =>
      (!q.actions?.length || q.actions.includes(r.action)) &&
      (q.actorId === undefined || r.actor.id === q.actorId) &&
      (q.actorName === undefined || r.actor.name === q.actorName) &&
      (q.resourceType === undefined || r.resource.type === q.resourceType) &&
      (q.resourceId === undefined || r.resource.id === q.resourceId) &&
      (q.result === undefined || r.result === q.result) &&
      (q.since === undefined || Date.parse(r.time) >= q.since) &&
      (q.until === undefined || Date.parse(r.time) < q.until) &&
      (q.visibleTo === undefined || r.actor.id === q.visibleTo || r.resource.ownerId === q.visibleTo)
    );
    return { items: hits.slice(q.offset, q.offset + q.limit), total: hits.length };
  }

  async purgeExpired(): Promise<number> {
    return 0;
  }

  async dispose(): Promise<void> {}
}
