/**
 * `/api/v1/jobs`: training jobs and their versions (SPEC §8; `server/api/openapi.yaml`).
 * Handlers are thin: validation in `jobs/validate.ts`, rules in `JobManager`.
 *
 * | Route | What |
 * |---|---|
 * | `POST /jobs` | create a job; its V0001 is submitted (201, INITIALIZING) |
 * | `GET /jobs`, `GET /jobs/:id` | list (paged; `all=true` for admins), one job with its latest version |
 * | `PATCH /jobs/:id` | description, webhook |
 * | `DELETE /jobs/:id` | delete with all versions (running ones are canceled) |
 * | `GET /jobs/:id/versions`, `POST /jobs/:id/versions` | versions; "modify and rerun" = the next version |
 * | `GET /jobs/:id/versions/:v`, `DELETE …/:v`, `POST …/:v/stop` | one version |
 * | `GET /jobs/:id/versions/:v/logs?task=&offset=&limit=&follow=` | a task's log (text), following it while it runs |
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Errors } from '../errors';
import type { Principal } from '../auth/principal';
import type { AuditAction, AuditResource } from '../audit/audit';
import { TERMINAL_STATUSES, versionLabel, type JobRecord, type VersionRecord } from '../jobs/job';
import { PACKAGES_NOTICE } from '../jobs/manager';
import { validateCreateJob, validateRerun, validateUpdateJob } from '../jobs/validate';
import { jobToWire, versionToWire, type TrainingJob } from '../jobs/wire';
import { MAX_LOG_CHUNK } from '../scheduler/support';
import { audited } from './audited';
import type { Page } from './types';
import { parsePaging } from './paging';
import { principalOf, type ApiContext } from './context';

type Params = { id: string; v: string };

/** A job as the principal may see it in the audit trail (name and owner only when visible). */
async function jobRef(ctx: ApiContext, p: Principal, id: string): Promise<AuditResource> {
  try {
    const job = await ctx.jobs.manager.getJob(p, id);
    return { type: 'trainJob', id: job.id, name: job.name, ownerId: job.ownerId };
  } catch {
    return { type: 'trainJob', id };
  }
}

export function registerJobRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const jobs = ctx.jobs.manager;
  const wireJob = async (job: JobRecord, latest?: VersionRecord): Promise<TrainingJob> => {
    const v = latest ?? (await jobs.latest(job));
    return jobToWire(job, v, v ? await jobs.tasks(v) : []);
  };
  const wireVersion = async (v: VersionRecord) => versionToWire(v, await jobs.tasks(v));
  const audit = <T>(req: FastifyRequest, p: Principal, action: AuditAction, resource: AuditResource, fn: () => Promise<T>, details?: Record<string, unknown>) =>
    audited(ctx, req, p, action, resource, fn, details ? { details } : {});

  app.post('/api/v1/jobs', async (req, reply) => {
    const p = await principalOf(ctx, req);
    const name = (req.body as { name?: unknown } | undefined)?.name;
    const { job, version } = await audited(
      ctx, req, p, 'createModelArtsTrainJob',
      { type: 'trainJob', id: '', name: typeof name === 'string' ? name.slice(0, 64) : '', ownerId: p.userId },
      async () => jobs.create(await ctx.access.withFlavorGrants(p), validateCreateJob(req.body, ctx.config.jobMaxNodes)),
      { resourceOf: r => ({ type: 'trainJob', id: r.job.id, name: r.job.name, ownerId: r.job.ownerId }), details: { version: 'V0001' } }
    );
    reply.code(201).header('Location', `/api/v1/jobs/${job.id}`);
    return { ...(await wireJob(job, version)), notices: [PACKAGES_NOTICE] };
  });

  app.get('/api/v1/jobs', async req => {
    const p = await principalOf(ctx, req);
    const query = req.query as Record<string, unknown>;
    const paging = parsePaging(query);
    const { items, total, latest } = await jobs.listJobs(p, { ...paging, all: query.all === 'true' });
    const page: Page<TrainingJob> = { items: items.map(j => jobToWire(j, latest.get(j.id))), total, ...paging };
    return page;
  });

  app.get('/api/v1/jobs/:id', async req => {
    const p = await principalOf(ctx, req);
    return wireJob(await jobs.getJob(p, (req.params as Params).id));
  });

  app.patch('/api/v1/jobs/:id', async req => {
    const p = await principalOf(ctx, req);
    const body = validateUpdateJob(req.body);
    return wireJob(await jobs.update(p, (req.params as Params).id, body));
  });

  app.delete('/api/v1/jobs/:id', async (req, reply) => {
    const p = await principalOf(ctx, req);
    const id = (req.params as Params).id;
    await audit(req, p, 'deleteModelArtsTrainJob', await jobRef(ctx, p, id), () => jobs.deleteJob(p, id));
    reply.code(204);
  });

  app.get('/api/v1/jobs/:id/versions', async req => {
    const p = await principalOf(ctx, req);
    const versions = await jobs.listVersions(p, (req.params as Params).id);
    return { items: await Promise.all(versions.map(wireVersion)) };
  });

  app.post('/api/v1/jobs/:id/versions', async (req, reply) => {
    const p = await principalOf(ctx, req);
    const id = (req.params as Params).id;
    const body = validateRerun(req.body, ctx.config.jobMaxNodes);
    const v = await audit(req, p, 'createModelArtsTrainJob', await jobRef(ctx, p, id), async () => jobs.rerun(await ctx.access.withFlavorGrants(p), id, body), {
      rerun: true, fields: Object.keys(body.fields)
    });
    reply.code(201).header('Location', `/api/v1/jobs/${id}/versions/${versionLabel(v.version)}`);
    return wireVersion(v);
  });

  app.get('/api/v1/jobs/:id/versions/:v', async req => {
    const p = await principalOf(ctx, req);
    const { id, v } = req.params as Params;
    return wireVersion((await jobs.getVersion(p, id, v)).version);
  });

  app.delete('/api/v1/jobs/:id/versions/:v', async (req, reply) => {
    const p = await principalOf(ctx, req);
    const { id, v } = req.params as Params;
    await audit(req, p, 'deleteModelArtsTrainJob', await jobRef(ctx, p, id), () => jobs.deleteVersion(p, id, v), { version: v });
    reply.code(204);
  });

  app.post('/api/v1/jobs/:id/versions/:v/stop', async req => {
    const p = await principalOf(ctx, req);
    const { id, v } = req.params as Params;
    return wireVersion(await audit(req, p, 'stopModelArtsTrainVersion', await jobRef(ctx, p, id), () => jobs.stop(p, id, v), { version: v }));
  });

  app.get('/api/v1/jobs/:id/versions/:v/logs', async (req, reply) => {
    const p = await principalOf(ctx, req);
    const { id, v } = req.params as Params;
    const q = req.query as Record<string, unknown>;
    const task = intParam(q.task, 'task', 0);
    const offset = intParam(q.offset, 'offset', 0);
    const limit = intParam(q.limit, 'limit', MAX_LOG_CHUNK);
    const { version } = await jobs.getVersion(p, id, v, 'trainJob:logs');
    if (q.follow === 'true' || q.follow === '1') return followLog(ctx, req, reply, version, task, offset);
    const chunk = await jobs.logs(version, { task, offset, limit });
    reply
      .header('Content-Type', 'text/plain; charset=utf-8')
      .header('Cache-Control', 'no-store')
      .header('X-Log-Next-Offset', String(chunk.nextOffset))
      .header('X-Log-Size', String(chunk.size))
      .header('X-Job-Status', version.status);
    return chunk.text;
  });
}

function intParam(raw: unknown, name: string, def: number): number {
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw Errors.VALIDATION(`"${name}" must be an integer ≥ 0, got ${JSON.stringify(raw)}`);
  return n;
}

/**
 * Streams a task's log as it grows (chunked `text/plain`) until the version has ended and
 * the log is read to its end, or the client goes away.
 */
async function followLog(ctx: ApiContext, req: FastifyRequest, reply: FastifyReply, start: VersionRecord, task: number, offset: number): Promise<FastifyReply> {
  const jobs = ctx.jobs.manager;
  if (task >= start.config.nodeCount) throw Errors.VALIDATION(`"task" must be from 0 to ${start.config.nodeCount - 1}`);
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
  let closed = false;
  req.raw.once('close', () => (closed = true));
  let pos = offset;
  let v: VersionRecord | undefined = start;
  try {
    while (!closed && v) {
      const ended = TERMINAL_STATUSES.includes(v.status);
      const chunk = await jobs.logs(v, { task, offset: pos });
      if (chunk.text) res.write(chunk.text);
      const moved = chunk.nextOffset !== pos;
      pos = chunk.nextOffset;
      if (moved) continue;
      if (ended) break;
      await new Promise(r => setTimeout(r, 300));
      v = await ctx.jobs.manager.reload(v);
    }
  } catch (err) {
    ctx.log.warn({ err, version: start.id }, 'log follow failed');
  }
  res.end();
  return reply;
}
