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
    const rec = await ctx.instances.create(p, validateCreate(req.body));
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
    return toWire(await ctx.instances.update(p, (req.params as { id: string }).id, validateUpdate(req.body)));
  });

  app.delete('/api/v1/notebooks/:id', async (req, reply) => {
    const p = await principalOf(ctx, req);
    await ctx.instances.deleteInstance(p, (req.params as { id: string }).id);
    reply.code(204);
  });

  app.post('/api/v1/notebooks/:id/start', async (req, reply) => {
    const p = await principalOf(ctx, req);
    reply.code(202);
    return toWire(await ctx.instances.startInstance(p, (req.params as { id: string }).id));
  });

  app.post('/api/v1/notebooks/:id/stop', async (req, reply) => {
    const p = await principalOf(ctx, req);
    reply.code(202);
    return toWire(await ctx.instances.stopInstance(p, (req.params as { id: string }).id));
  });

  app.get('/api/v1/notebooks/:id/progress', async req => {
    const p = await principalOf(ctx, req);
    const rec = await ctx.instances.get(p, (req.params as { id: string }).id);
    return { status: rec.status, events: ctx.instances.progressOf(rec.id) };
  });
}
