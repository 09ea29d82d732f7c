/**
 * `POST /api/v1/notebooks/:id/convert`: Convert to Python File (SPEC §4) from the REST API and
 * the CLI; the instance's agent does the work (`api/nbg/convert`), next to the files.
 */
import type { FastifyInstance } from 'fastify';
import { Errors } from '../errors';
import { callAgent } from '../instances/agent-client';
import { principalOf, type ApiContext } from './context';

export function registerConvertRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.post('/api/v1/notebooks/:id/convert', async (req, reply) => {
    const p = await principalOf(ctx, req);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const unknown = Object.keys(body).filter(k => !['path', 'name', 'force'].includes(k));
    if (unknown.length) throw Errors.VALIDATION(`unknown field(s) ${unknown.join(', ')}; allowed: path, name, force`);
    if (typeof body.path !== 'string') throw Errors.VALIDATION('"path" is required: the notebook to convert, relative to ~/work (e.g. "train.ipynb")');
    const target = await ctx.instances.resolveOpen(p, (req.params as { id: string }).id);
    const res = await callAgent(target, 'POST', 'api/nbg/convert', { path: body.path, name: body.name, force: body.force === true });
    reply.code(res.status);
    return res.body;
  });
}
