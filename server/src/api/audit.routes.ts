/**
 * `GET /api/v1/audit`: the audit trail with filters and paging (openapi.yaml). Admins see
 * every record; users see their own actions and what was done to their resources.
 */
import type { FastifyInstance } from 'fastify';
import { Errors } from '../errors';
import { AUDIT_ACTIONS, AUDIT_RESOURCE_TYPES, type AuditAction, type AuditQuery, type AuditRecord, type AuditResourceType } from '../audit/audit';
import type { Page } from './types';
import { parsePaging } from './paging';
import { principalOf, type ApiContext } from './context';

export function registerAuditRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/v1/audit', async req => {
    const p = await principalOf(ctx, req);
    const query = req.query as Record<string, unknown>;
    const paging = parsePaging(query);
    const q: AuditQuery = { ...paging, ...parseFilters(query) };
    if (p.role !== 'admin') q.visibleTo = p.userId;
    const { items, total } = await ctx.audit.query(q);
    const page: Page<AuditRecord> = { items, total, ...paging };
    return page;
  });
}

function parseFilters(query: Record<string, unknown>): Omit<AuditQuery, 'limit' | 'offset'> {
  const str = (k: string): string | undefined => {
    const v = query[k];
    if (v === undefined || v === '') return undefined;
    if (typeof v !== 'string') throw Errors.VALIDATION(`"${k}" must be given once`);
    return v;
  };
  const time = (k: string): number | undefined => {
    const v = str(k);
    if (v === undefined) return undefined;
    const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
    if (!Number.isFinite(t)) throw Errors.VALIDATION(`"${k}" must be an ISO 8601 time (e.g. 2026-11-22T10:00:00Z) or epoch milliseconds, got "${v}"`);
    return t;
  };
  const out: Omit<AuditQuery, 'limit' | 'offset'> = {};
  const action = str('action');
  if (action !== undefined) {
    const list = action.split(',').map(s => s.trim()).filter(Boolean);
    const bad = list.filter(a => !AUDIT_ACTIONS.includes(a as AuditAction));
    if (bad.length) throw Errors.VALIDATION(`unknown action(s) ${bad.join(', ')}; known: ${AUDIT_ACTIONS.join(', ')}`);
    out.actions = list as AuditAction[];
  }
  const actor = str('actor');
  if (actor !== undefined) out.actorName = actor;
  const actorId = str('actorId');
  if (actorId !== undefined) out.actorId = actorId;
  const resourceType = str('resourceType');
  if (resourceType !== undefined) {
    if (!AUDIT_RESOURCE_TYPES.includes(resourceType as AuditResourceType)) {
      throw Errors.VALIDATION(`"resourceType" must be one of ${AUDIT_RESOURCE_TYPES.join(', ')}`);
    }
    out.resourceType = resourceType as AuditResourceType;
  }
  const resourceId = str('resourceId');
  if (resourceId !== undefined) out.resourceId = resourceId;
  const result = str('result');
  if (result !== undefined) {
    if (result !== 'success' && result !== 'failure') throw Errors.VALIDATION('"result" must be "success" or "failure"');
    out.result = result;
  }
  const since = time('since');
  if (since !== undefined) out.since = since;
  const until = time('until');
  if (until !== undefined) out.until = until;
  return out;
}
