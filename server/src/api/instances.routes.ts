/**
 * `/api/v1/notebooks`: create, list, get, update, delete, start, stop (openapi.yaml).
 * Handlers are thin: validation in `instances/validate.ts`, rules in the manager.
 */
import type { FastifyInstance } from 'fastify';
import type { InstanceRecord } from '../instances/instance';
import { allowedOperations } from '../instances/state-machine';
import { instanceBaseUrl } from '../instances/manager';
import { validateCreate, validateUpdate } from '../instances/validate';
import type { NotebookInstance, Page } from './types';
import { parsePaging } from './paging';
import { principalOf, type ApiContext } from './context';
import { audited, notebookRef, notebookResource } from './audited';
import { validateLeaseSettings, type LeaseSettings } from '../leases';
import { Errors } from '../errors';

/** Lines of an instance's output `GET …/logs` answers by default, and at most. */
const DEFAULT_LOG_TAIL = 200;
const MAX_LOG_TAIL = 10_000;

/** `autoStop` of a create or update body; the configured default IDLE for creates without one. */
function autoStopOf(ctx: ApiContext, raw: unknown, creating: boolean): LeaseSettings | undefined {
  if (raw === undefined) {
    return creating && ctx.config.defaultIdleMinutes > 0 ? { timingHours: null, idleMinutes: ctx.config.defaultIdleMinutes } : undefined;
  }
  if (raw === null) return { timingHours: null, idleMinutes: null };
  return validateLeaseSettings(raw, ctx.config.leaseIdleMinMinutes, 'autoStop');
}

/** The wire model with the auto-stop lease filled in. */
async function withLeases(ctx: ApiContext, recs: readonly InstanceRecord[]): Promise<NotebookInstance[]> {
  const leases = await ctx.leases.store.many(recs.map(r => r.id));
  return recs.map(r => ({ ...toWire(r), autoStop: ctx.leases.info(r, leases.get(r.id)) }));
}

/** The wire model of an instance; secrets and driver internals stay behind. */
export function toWire(rec: InstanceRecord): NotebookInstance {
  return {
    id: rec.id,
    name: rec.name,
    description: rec.description,
    owner: { id: rec.ownerId, name: rec.ownerName },
    image: rec.image,
    flavor: rec.flavor,
    nextFlavor: rec.nextFlavor,
    storage: { type: rec.storageType, sizeGB: rec.storageSizeGB },
    status: rec.status,
    statusReason: rec.statusReason,
    allowedOperations: allowedOperations(rec.status),
    url: instanceBaseUrl(rec.id),
    runtime: rec.driver,
    createdAt: new Date(rec.createdAt).toISOString(),
    updatedAt: new Date(rec.updatedAt).toISOString(),
    startedAt: rec.startedAt ? new Date(rec.startedAt).toISOString() : null
  };
}

export function registerInstanceRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.post('/api/v1/notebooks', async (req, reply) => {
    const p = await principalOf(ctx, req);
    const name = (req.body as { name?: unknown } | undefined)?.name;
    const rec = await audited(ctx, req, p, 'createNotebook', { type: 'notebook', id: '', name: typeof name === 'string' ? name.slice(0, 64) : '', ownerId: p.userId },
      async () => {
        const body = validateCreate(req.body);
        const autoStop = autoStopOf(ctx, body.autoStop, true);
        if (body.ssh) await ctx.ssh.checkSettings(body.image, p.userId, body.ssh);
        const created = await ctx.instances.create(await ctx.access.withFlavorGrants(p), body);
        if (autoStop) await ctx.leases.store.set(created.id, autoStop);
        if (body.ssh) await ctx.ssh.settings.put(created.id, body.ssh);
        return created;
      }, { resourceOf: notebookResource });
    reply.code(201).header('Location', `/api/v1/notebooks/${rec.id}`);
    return (await withLeases(ctx, [rec]))[0];
  });

  app.get('/api/v1/notebooks', async req => {
    const p = await principalOf(ctx, req);
    const query = req.query as Record<string, unknown>;
    const paging = parsePaging(query);
    const { items, total } = await ctx.instances.list(p, { ...paging, all: query.all === 'true' });
    const page: Page<NotebookInstance> = { items: await withLeases(ctx, items), total, ...paging };
    return page;
  });

  app.get('/api/v1/notebooks/:id', async req => {
    const p = await principalOf(ctx, req);
    return (await withLeases(ctx, [await ctx.instances.get(p, (req.params as { id: string }).id)]))[0];
  });

  app.patch('/api/v1/notebooks/:id', async req => {
    const p = await principalOf(ctx, req);
    const id = (req.params as { id: string }).id;
    const body = validateUpdate(req.body);
    const autoStop = autoStopOf(ctx, body.autoStop, false);
    const rec = await audited(ctx, req, p, 'updateNotebook', await notebookRef(ctx, p, id), async () => {
      const updated = await ctx.instances.update(await ctx.access.withFlavorGrants(p), id, body);
      if (autoStop) await ctx.leases.set(p, id, autoStop);
      return updated;
    }, { details: { fields: Object.keys(body), ...(autoStop ? { autoStop } : {}) } });
    return (await withLeases(ctx, [rec]))[0];
  });

  app.delete('/api/v1/notebooks/:id', async (req, reply) => {
    const p = await principalOf(ctx, req);
    const id = (req.params as { id: string }).id;
    await audited(ctx, req, p, 'deleteNotebook', await notebookRef(ctx, p, id), () => ctx.instances.deleteInstance(p, id));
    reply.code(204);
  });

  app.post('/api/v1/notebooks/:id/start', async (req, reply) => {
    const p = await principalOf(ctx, req);
    const id = (req.params as { id: string }).id;
    const rec = await audited(ctx, req, p, 'startNotebook', await notebookRef(ctx, p, id), () => ctx.instances.startInstance(p, id));
    reply.code(202);
    return toWire(rec);
  });

  app.post('/api/v1/notebooks/:id/stop', async (req, reply) => {
    const p = await principalOf(ctx, req);
    const id = (req.params as { id: string }).id;
    const rec = await audited(ctx, req, p, 'stopNotebook', await notebookRef(ctx, p, id), () => ctx.instances.stopInstance(p, id));
    reply.code(202);
    return toWire(rec);
  });

  app.get('/api/v1/notebooks/:id/logs', async (req, reply) => {
    const p = await principalOf(ctx, req);
    const raw = (req.query as { tail?: unknown }).tail;
    const tail = raw === undefined ? DEFAULT_LOG_TAIL : Number(raw);
    if (!Number.isInteger(tail) || tail < 1 || tail > MAX_LOG_TAIL) throw Errors.VALIDATION(`tail must be a whole number of lines from 1 to ${MAX_LOG_TAIL}, got "${String(raw)}"`);
    const text = await ctx.instances.output(p, (req.params as { id: string }).id, tail);
    reply.header('Content-Type', 'text/plain; charset=utf-8').header('Cache-Control', 'no-store');
    return text;
  });

  app.get('/api/v1/notebooks/:id/progress', async req => {
    const p = await principalOf(ctx, req);
    const rec = await ctx.instances.get(p, (req.params as { id: string }).id);
    return { status: rec.status, events: ctx.instances.progressOf(rec).events };
  });
}
