/**
 * The image catalogue and the flavors, for create forms and `nbg images`.
 */
import type { FastifyInstance } from 'fastify';
import type { FlavorInfo, ImageInfo } from './types';
import { principalOf, type ApiContext } from './context';

export function registerCatalogueRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/v1/images', async req => {
    const p = await principalOf(ctx, req);
    await ctx.access.authorize(p, 'image:list');
    const items: ImageInfo[] = (await ctx.images.list(p)).map(i => ({
      name: i.name, engine: i.engine, engineVersion: i.engineVersion, chips: i.chips, ssh: i.ssh,
      jupyterlab: i.jupyterlab, description: i.description, custom: Boolean(i.ownerId)
    }));
    return { items };
  });

  app.get('/api/v1/flavors', async req => {
    const p = await ctx.access.withFlavorGrants(await principalOf(ctx, req));
    const items: FlavorInfo[] = ctx.config.flavors.map(f => ({
      id: f.id, chip: f.chip, cpus: f.cpus, memoryGiB: f.memoryGiB, accelerators: f.accelerators, inviteOnly: f.inviteOnly, description: f.description,
      granted: !f.inviteOnly || p.role === 'admin' || (p.flavorGrants ?? []).includes(f.id)
    }));
    return { items };
  });
}
