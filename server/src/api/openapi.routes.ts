/**
 * `GET /api/v1/openapi.json|yaml`: the REST contract (`server/api/openapi.yaml`), served
 * without authentication like any public API description.
 */
import type { FastifyInstance } from 'fastify';
import { apiDocument } from './openapi';

export function registerOpenApiRoutes(app: FastifyInstance): void {
  const { text, doc } = apiDocument();
  const json = JSON.stringify(doc);
  app.get('/api/v1/openapi.json', async (_req, reply) => {
    reply.type('application/json; charset=utf-8').header('Cache-Control', 'public, max-age=300');
    return json;
  });
  app.get('/api/v1/openapi.yaml', async (_req, reply) => {
    reply.type('application/yaml; charset=utf-8').header('Cache-Control', 'public, max-age=300');
    return text;
  });
}
