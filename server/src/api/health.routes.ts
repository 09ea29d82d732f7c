/**
 * `GET /api/v1/health`: liveness for load balancers and the README's first check. No auth.
 */
import type { FastifyInstance } from 'fastify';
import type { Health } from './types';
import type { ApiContext } from './context';

export function registerHealthRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/v1/health', async () => {
    await ctx.db.get('SELECT 1 AS ok');
    const health: Health = { status: 'ok', version: ctx.version, runtime: ctx.instances.driver.kind, database: ctx.db.dialect };
    return health;
  });
}
