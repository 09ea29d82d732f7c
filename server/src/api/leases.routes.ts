/**
 * `/api/v1/notebooks/{id}/lease`: auto-stop settings (SPEC §6), and renewal (openapi.yaml).
 */
import type { FastifyInstance } from 'fastify';
import { Errors } from '../errors';
import { TIMING_MAX_HOURS, TIMING_MIN_HOURS, validateLeaseSettings } from '../leases';
import { principalOf, type ApiContext } from './context';
import { audited, notebookRef } from './audited';

export function registerLeaseRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/v1/notebooks/:id/lease', async req => {
    const p = await principalOf(ctx, req);
    return ctx.leases.get(p, (req.params as { id: string }).id);
  });

  app.put('/api/v1/notebooks/:id/lease', async req => {
    const p = await principalOf(ctx, req);
    const id = (req.params as { id: string }).id;
    const settings = validateLeaseSettings(req.body, ctx.config.leaseIdleMinMinutes);
    return audited(ctx, req, p, 'updateNotebook', await notebookRef(ctx, p, id), () => ctx.leases.set(p, id, settings), {
      details: { fields: ['autoStop'], autoStop: settings }
    });
  });

  app.post('/api/v1/notebooks/:id/lease/renew', async req => {
    const p = await principalOf(ctx, req);
    const id = (req.params as { id: string }).id;
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body !== 'object' || Array.isArray(body)) throw Errors.VALIDATION('the body, when sent, must be {"timingHours": hours}');
    const extra = Object.keys(body).filter(k => k !== 'timingHours');
    if (extra.length) throw Errors.VALIDATION(`unknown field(s) ${extra.join(', ')}; allowed: timingHours`);
    const hours = body.timingHours;
    if (hours !== undefined && (typeof hours !== 'number' || !Number.isInteger(hours) || hours < TIMING_MIN_HOURS || hours > TIMING_MAX_HOURS)) {
      throw Errors.VALIDATION(`"timingHours" must be a whole number of hours from ${TIMING_MIN_HOURS} to ${TIMING_MAX_HOURS}`);
    }
    return audited(ctx, req, p, 'renewNotebookLease', await notebookRef(ctx, p, id), () => ctx.leases.renew(p, id, hours as number | undefined), {
      ...(hours !== undefined ? { details: { timingHours: hours } } : {})
    });
  });
}
