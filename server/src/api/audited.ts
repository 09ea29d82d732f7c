/**
 * Recording audited API actions (SPEC §9): the action's outcome is recorded whether it
 * succeeds or fails, with the principal, the client address and the resource.
 */
import type { FastifyRequest } from 'fastify';
import { actorOf, sourceIpOf, type AuditAction, type AuditResource } from '../audit/audit';
import { HttpError } from '../errors';
import type { Principal } from '../auth/principal';
import type { InstanceRecord } from '../instances/instance';
import type { ApiContext } from './context';

/**
 * Runs `fn` and records `action` with its result.
 * @param resource - what the action is about; `resourceOf` can refine it from the result
 *   (a create learns its id only when it succeeds).
 */
export async function audited<T>(
  ctx: ApiContext,
  req: FastifyRequest,
  p: Principal,
  action: AuditAction,
  resource: AuditResource,
  fn: () => Promise<T>,
  opts: { resourceOf?: (r: T) => AuditResource; details?: Record<string, unknown> } = {}
): Promise<T> {
  const base = { action, actor: actorOf(p), sourceIp: sourceIpOf(req.raw, ctx.config.trustProxy) };
  try {
    const r = await fn();
    await ctx.audit.record({ ...base, resource: opts.resourceOf?.(r) ?? resource, result: 'success', ...(opts.details ? { details: opts.details } : {}) });
    return r;
  } catch (err) {
    const code = err instanceof HttpError ? err.code : 'NB_ERR_INTERNAL';
    await ctx.audit.record({ ...base, resource, result: 'failure', details: { ...opts.details, code } });
    throw err;
  }
}

/** The audit resource of a notebook record. */
export function notebookResource(rec: Pick<InstanceRecord, 'id' | 'name' | 'ownerId'>): AuditResource {
  return { type: 'notebook', id: rec.id, name: rec.name, ownerId: rec.ownerId };
}

/**
 * A notebook as the principal may see it: name and owner only when visible, so a failed
 * attempt on someone else's id does not put their instance's name in the caller's trail.
 */
export async function notebookRef(ctx: ApiContext, p: Principal, id: string): Promise<AuditResource> {
  try {
    return notebookResource(await ctx.instances.get(p, id));
  } catch {
    return { type: 'notebook', id };
  }
}
