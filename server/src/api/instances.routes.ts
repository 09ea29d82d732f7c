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

/** The wire model of an instance; secrets and driver internals stay behind. */
export function toWire(rec: InstanceRecord): NotebookInstance {
  return {
    id: rec.id,
    name: rec.name,
    description: rec.description,
    owner: { id: rec.ownerId, name: rec.ownerName },
    image: rec.image,
    flavor: rec.flavor,
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
      async () => ctx.instances.create(await ctx.access.withFlavorGrants(p), validateCreate(req.body)), { resourceOf: notebookResource });
    reply.code(201).header('Location', `/api/v1/notebooks/${rec.id}`);
    return toWire(rec);
  });

  app.get('/api/v1/notebooks', async req => {
    const p = await principalOf(ctx, req);
    const query = req.query as Record<string, unknown>;
    const paging = parsePaging(query);
    const { items, total } = await ctx.instances.list(p, { ...paging, all: query.all === 'true' });
    const page: Page<NotebookInstance> = { items: items.map(toWire), total, ...paging };
    return page;
  });

  app.get('/api/v1/notebooks/:id', async req => {
    const p = await principalOf(ctx, req);
    return toWire(await ctx.instances.get(p, (req.params as { id: string }).id));
  });

  app.patch('/api/v1/notebooks/:id', async req => {
    const p = await principalOf(ctx, req);
    const id = (req.params as { id: string }).id;
    const body = validateUpdate(req.body);
    return toWire(await audited(ctx, req, p, 'updateNotebook', await notebookRef(ctx, p, id), async () => ctx.instances.update(await ctx.access.withFlavorGrants(p), id, body), {
      details: { fields: Object.keys(body) }
    }));
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

  app.get('/api/v1/notebooks/:id/progress', async req => {
    const p = await principalOf(ctx, req);
    const rec = await ctx.instances.get(p, (req.params as { id: string }).id);
    return { status: rec.status, events: ctx.instances.progressOf(rec.id) };
  });
}
