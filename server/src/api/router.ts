/**
 * Mounts every route module on fastify, with the error handler last (STYLE.md §12).
 */
import type { FastifyInstance } from 'fastify';
import { Errors } from '../errors';
import { errorBody, toHttpError } from './error-handler';
import type { ApiContext } from './context';
import { registerHealthRoutes } from './health.routes';
import { registerAuthRoutes } from './auth.routes';
import { registerCatalogueRoutes } from './catalogue.routes';
import { registerInstanceRoutes } from './instances.routes';
import { registerSshRoutes } from './ssh.routes';
import { registerAuditRoutes } from './audit.routes';
import { registerTokenRoutes } from './tokens.routes';
import { registerUserRoutes } from './users.routes';
import { registerLeaseRoutes } from './leases.routes';
import { registerEventRoutes } from './events.routes';
import { registerOpenApiRoutes } from './openapi.routes';
import { registerIdempotency } from './idempotency';
import { apiDocument, installValidation } from './openapi';
import { registerConvertRoutes } from './convert.routes';
import { registerJobRoutes } from './jobs.routes';
import { registerJobAgentRoutes } from './job-agent.routes';
import { registerWebRoutes } from '../web/web.routes';
import { registerImageRoutes } from './images.routes';
import { registerStorageRoutes } from './storage.routes';

export function registerRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.decorateRequest('principal', null);
  // Before any route: documented routes get their schemas as they are registered.
  installValidation(app, apiDocument().doc);
  registerIdempotency(app, ctx);
  registerOpenApiRoutes(app);
  registerHealthRoutes(app, ctx);
  registerAuthRoutes(app, ctx);
  registerCatalogueRoutes(app, ctx);
  registerInstanceRoutes(app, ctx);
  registerSshRoutes(app, ctx);
  registerAuditRoutes(app, ctx);
  registerTokenRoutes(app, ctx);
  registerUserRoutes(app, ctx);
  registerLeaseRoutes(app, ctx);
  registerEventRoutes(app, ctx);
  registerConvertRoutes(app, ctx);
  registerJobRoutes(app, ctx);
  registerJobAgentRoutes(app, ctx);
  registerWebRoutes(app, ctx);
  registerImageRoutes(app, ctx);
  registerStorageRoutes(app, ctx);

  app.setNotFoundHandler((req, reply) => {
    const e = Errors.NOT_FOUND(req.method, req.url.split('?')[0]);
    reply.code(404).send(errorBody(e));
  });
  app.setErrorHandler((err, req, reply) => {
    const e = toHttpError(err, ctx.log, req.id);
    reply.code(e.statusCode).send(errorBody(e));
  });
}
