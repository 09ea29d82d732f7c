/**
 * The job-agent API (`/api/v1/job-agent/*`, see `jobs/agent-protocol.ts`): what a training
 * job's launchers call with their version token. Not for users: user credentials are not
 * accepted here, and a token reaches only its own version's locations.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { Errors } from '../errors';
import { ObjectNotFoundError } from '../storage/object-store';
import { AGENT_API_PREFIX, type InputKind } from '../jobs/launcher/protocol';
import type { VersionRecord } from '../jobs/job';
import type { ApiContext } from './context';

export function registerJobAgentRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const agent = ctx.jobs.agent;
  const versionOf = (req: FastifyRequest): Promise<VersionRecord> => agent.authenticate(req.headers.authorization);
  const kindOf = (req: FastifyRequest): InputKind => {
    const kind = (req.params as { kind: string }).kind;
    if (kind !== 'code' && kind !== 'data') throw Errors.VALIDATION('inputs are "code" or "data"');
    return kind;
  };

  // Encapsulated, so the raw-body parser applies to these routes only.
  void app.register(async scope => {
    scope.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));

    scope.get(`${AGENT_API_PREFIX}/spec`, async req => agent.spec(await versionOf(req)));

    scope.get(`${AGENT_API_PREFIX}/inputs/:kind`, async req => agent.manifest(await versionOf(req), kindOf(req)));

    scope.get(`${AGENT_API_PREFIX}/inputs/:kind/file`, async (req, reply) => {
      const v = await versionOf(req);
      try {
        const { stream, info } = await agent.openInput(v, kindOf(req), (req.query as { path?: string }).path);
        reply.header('Content-Type', 'application/octet-stream').header('Content-Length', String(info.size));
        return reply.send(stream);
      } catch (err) {
        if (err instanceof ObjectNotFoundError) throw Errors.JOB_INPUT_NOT_FOUND(`${err.key} is no longer in object storage`);
        throw err;
      }
    });

    scope.put(`${AGENT_API_PREFIX}/outputs/file`, async (req, reply) => {
      const v = await versionOf(req);
      const len = Number(req.headers['content-length']);
      const info = await agent.putOutput(v, (req.query as { path?: string }).path, req.body as IncomingMessage, Number.isFinite(len) ? len : undefined);
      reply.code(201);
      return { key: info.key, size: info.size };
    });

    scope.post(`${AGENT_API_PREFIX}/events`, async (req, reply) => {
      await agent.event(await versionOf(req), req.body);
      reply.code(204);
    });

    scope.get(`${AGENT_API_PREFIX}/rendezvous`, async req => {
      const wait = Number((req.query as { wait?: string }).wait ?? 0);
      return agent.rendezvous(await versionOf(req), Number.isFinite(wait) ? wait : 0);
    });
  });
}
