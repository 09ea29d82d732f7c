/**
 * Object storage (SPEC §4, issue 7; openapi.yaml "storage"):
 * - `GET /api/v1/storage`: the caller's storage root and the sync limits;
 * - `GET /api/v1/storage/objects`: browse the root (to pick what Sync OBS copies);
 * - `PUT|DELETE /api/v1/storage/users/:name`: an administrator sets or resets a user's root;
 * - `POST|GET /api/v1/notebooks/:id/sync[/:syncId]`, `DELETE …/:syncId`: Sync OBS, push and
 *   pull, run by the instance's agent next to `~/work`.
 */
import type { FastifyInstance } from 'fastify';
import { Errors } from '../errors';
import type { InstanceRecord } from '../instances/instance';
import { agentSync, type SyncJobWire } from '../storage/agent-client';
import type { ListPage } from '../storage/object-store';
import { normalisePrefix } from '../storage/paths';
import { validateRoot, validateSyncRequest } from '../storage/validate';
import { principalOf, type ApiContext } from './context';

export function registerStorageRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const { storage, config } = ctx;
  const counted = new Set<string>();

  app.get('/api/v1/storage', async req => {
    const p = await principalOf(ctx, req);
    const root = await storage.rootOf({ id: p.userId, name: p.name });
    return {
      store: config.objectStore,
      bucket: root.bucket,
      prefix: root.prefix,
      url: `s3://${root.bucket}/${root.prefix}`,
      custom: root.custom,
      instanceCredentials: config.objectStore === 's3' ? config.s3InstanceCredentials : 'none',
      syncLimits: { maxFiles: config.syncMaxFiles, maxWorkMB: config.syncMaxWorkMB }
    };
  });

  app.get('/api/v1/storage/objects', async req => {
    const p = await principalOf(ctx, req);
    const q = req.query as Record<string, string | undefined>;
    const root = await storage.rootOf({ id: p.userId, name: p.name });
    let rel: string;
    try {
      // A prefix may end mid-name ("data/tr" lists "data/train.csv"); only its directories are normalised.
      const raw = q.prefix ?? '';
      const cut = raw.lastIndexOf('/') + 1;
      rel = normalisePrefix(raw.slice(0, cut)) + raw.slice(cut);
      if (rel.slice(normalisePrefix(raw.slice(0, cut)).length).includes('\0')) throw new Error('must not contain NUL bytes');
    } catch (err) {
      throw Errors.STORAGE_PATH_INVALID(`"prefix": ${(err as Error).message}`);
    }
    const maxKeys = q.maxKeys === undefined ? 1000 : Number(q.maxKeys);
    if (!Number.isInteger(maxKeys) || maxKeys < 1 || maxKeys > 1000) throw Errors.VALIDATION('"maxKeys" must be an integer from 1 to 1000');
    const page = await storage.store.list(root.bucket, {
      prefix: root.prefix + rel,
      delimiter: q.delimiter === undefined ? '/' : q.delimiter || undefined,
      continuationToken: q.continuationToken || undefined,
      maxKeys
    }).catch(err => {
      if ((err as Error).name === 'NoSuchBucketError') return { objects: [], prefixes: [] } as ListPage;
      throw Errors.STORAGE_UNAVAILABLE((err as Error).message);
    });
    const strip = (k: string): string => k.slice(root.prefix.length);
    return {
      prefix: rel,
      objects: page.objects.map(o => ({ path: strip(o.key), size: o.size, etag: o.etag, lastModified: o.lastModified.toISOString() })),
      prefixes: page.prefixes.map(strip),
      continuationToken: page.continuationToken ?? null
    };
  });

  app.put('/api/v1/storage/users/:name', async req => {
    const p = await principalOf(ctx, req);
    if (p.role !== 'admin') throw Errors.FORBIDDEN('Only administrators may set users\' storage roots');
    const user = await ctx.users.byName((req.params as { name: string }).name);
    if (!user) throw Errors.USER_NOT_FOUND((req.params as { name: string }).name);
    const root = validateRoot(req.body);
    // The bucket must exist for the user's instances to use it (made here when it does not).
    await storage.store.ensureBucket(root.bucket).catch(err => {
      throw Errors.STORAGE_UNAVAILABLE(`bucket "${root.bucket}" does not exist and cannot be created: ${(err as Error).message}`);
    });
    await storage.roots.setRoot(user.id, root, p.name);
    await storage.reapply(user.id);
    const now = await storage.rootOf(user);
    return { user: user.name, bucket: now.bucket, prefix: now.prefix, url: `s3://${now.bucket}/${now.prefix}`, custom: now.custom };
  });

  app.delete('/api/v1/storage/users/:name', async (req, reply) => {
    const p = await principalOf(ctx, req);
    if (p.role !== 'admin') throw Errors.FORBIDDEN('Only administrators may set users\' storage roots');
    const user = await ctx.users.byName((req.params as { name: string }).name);
    if (!user) throw Errors.USER_NOT_FOUND((req.params as { name: string }).name);
    await storage.roots.setRoot(user.id, null, p.name);
    await storage.reapply(user.id);
    reply.code(204);
  });

  /** The RUNNING instance the caller may open, its record, and an agent that has its access. */
  const openInstance = async (req: Parameters<typeof principalOf>[1]): Promise<{ rec: InstanceRecord; target: { instanceId: string; endpoint: { host: string; port: number }; agentToken: string } }> => {
    const p = await principalOf(ctx, req);
    const id = (req.params as { id: string }).id;
    const target = await ctx.instances.resolveOpen(p, id);
    const rec = await ctx.instances.get(p, id);
    await storage.ensureAccess(rec);
    return { rec, target };
  };

  const countBytes = (job: SyncJobWire | null): void => {
    // The agent runs in the user's container: its answers are input, not trusted shapes.
    if (!job || typeof job !== 'object' || job.state === 'running' || counted.has(job.id)) return;
    counted.add(job.id);
    const bytes = Number((job.progress as { bytesDone?: number } | undefined)?.bytesDone ?? 0);
    if (bytes > 0) ctx.metrics.syncBytes(job.kind === 'push' ? 'push' : 'pull', bytes);
  };

  app.post('/api/v1/notebooks/:id/sync', async (req, reply) => {
    // Checked here for a clear early answer; the agent parses the same body with the same rules.
    const r = validateSyncRequest(req.body, { maxFiles: config.syncMaxFiles });
    const { rec, target } = await openInstance(req);
    if (r.kind === 'obs' && rec.storageType !== 'obs') {
      throw Errors.VALIDATION(`Sync OBS copies from an obs-storage instance's OBS path, and "${rec.name}" uses local storage; use "kind": "pull" with a prefix of your storage root`);
    }
    // The agent answers after planning (a listing and a walk): long for very large trees.
    const res = await agentSync<SyncJobWire>(target, 'POST', 'jobs', req.body, 300_000);
    reply.code(res.status);
    if (res.status === 202) reply.header('Location', `/api/v1/notebooks/${rec.id}/sync/${res.body.id}`);
    return res.body;
  });

  app.get('/api/v1/notebooks/:id/sync', async req => {
    const { target } = await openInstance(req);
    const list = (await agentSync<{ items: SyncJobWire[] }>(target, 'GET', 'jobs')).body;
    if (Array.isArray(list?.items)) list.items.forEach(countBytes);
    return list;
  });
  app.get('/api/v1/notebooks/:id/sync/:syncId', async req => {
    const { target } = await openInstance(req);
    const job = (await agentSync<SyncJobWire>(target, 'GET', `jobs/${encodeURIComponent((req.params as { syncId: string }).syncId)}`)).body;
    countBytes(job);
    return job;
  });

  app.delete('/api/v1/notebooks/:id/sync/:syncId', async (req, reply) => {
    const { target } = await openInstance(req);
    const res = await agentSync<SyncJobWire>(target, 'DELETE', `jobs/${encodeURIComponent((req.params as { syncId: string }).syncId)}`);
    reply.code(res.status);
    return res.body;
  });
}
