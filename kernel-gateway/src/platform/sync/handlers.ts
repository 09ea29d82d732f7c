/**
 * The agent's sync API (`<base>api/nbg/sync/*`, docs/architecture.md "Contracts"):
 *
 * | Route | Who | What |
 * |---|---|---|
 * | `PUT access` | gateway only | the instance's storage access (`StorageAccess`) → 204 |
 * | `GET access` | gateway only | the access without keys (what is configured) |
 * | `POST jobs` | gateway, `nbg-sync` | a sync request (openapi.yaml `SyncRequest`) → 202 job, 200 plan (dryRun) |
 * | `GET jobs`, `GET jobs/:id` | gateway, `nbg-sync` | syncs with progress |
 * | `DELETE jobs/:id` | gateway, `nbg-sync` | cancel; resolves when transfers stopped |
 * | `GET objects?prefix=&delimiter=` | gateway, `nbg-sync` | a listing under the owner's root |
 *
 * Refusals are Jupyter errors plus `details`; `reason` names them (`sync-limit`,
 * `sync-delete-guard`, `sync-busy`, `sync-not-found`, `storage-unavailable`, `storage-path`).
 */
import type { Router } from '../../http/router';
import { asObject, readJson, sendJson, sendNoContent } from '../../http/respond';
import { normalisePrefix } from '../../../../server/src/storage/paths';
import { describeAccess, validateAccess } from '../../../../server/src/storage/access';
import type { StorageAccessHolder } from './access';
import { SyncError, type SyncJobManager } from './jobs';

const BODY_LIMIT = 1 << 20;

/** Routes the gateway uses to hand the agent its storage access (token-authenticated only). */
export function registerAccessRoutes(router: Router, holder: StorageAccessHolder): void {
  router.put('api/nbg/sync/access', async (req, res) => {
    let access;
    try {
      access = validateAccess(asObject(await readJson(req, BODY_LIMIT)));
    } catch (err) {
      if (err instanceof SyncError) throw err;
      throw new SyncError(400, (err as Error).message, 'Bad Request');
    }
    holder.set(access);
    sendNoContent(res);
  }, { activity: 'passive' });

  router.get('api/nbg/sync/access', (_req, res) => {
    const a = holder.access;
    sendJson(res, 200, a ? { available: true, ...describeAccess(a) } : { available: false });
  });
}

/** Sync jobs and listings: on the agent's API and on the local socket `nbg-sync` uses. */
export function registerSyncRoutes(router: Router, jobs: SyncJobManager, holder: StorageAccessHolder): void {
  router.post('api/nbg/sync/jobs', async (req, res) => {
    const { status, job } = await jobs.start(await readJson(req, BODY_LIMIT));
    sendJson(res, status, job);
  });

  router.get('api/nbg/sync/jobs', (_req, res) => {
    sendJson(res, 200, { items: jobs.list() });
  });

  router.get('api/nbg/sync/jobs/:id', (_req, res, params) => {
    sendJson(res, 200, jobs.get(params.id!));
  });

  router.delete('api/nbg/sync/jobs/:id', async (_req, res, params) => {
    sendJson(res, 200, await jobs.cancel(params.id!));
  });

  router.get('api/nbg/sync/objects', async (_req, res, _params, url) => {
    const { store, access } = await holder.get();
    const raw = url.searchParams.get('prefix') ?? '';
    const cut = raw.lastIndexOf('/') + 1;
    let rel: string;
    try {
      rel = normalisePrefix(raw.slice(0, cut)) + raw.slice(cut);
    } catch (err) {
      throw new SyncError(400, `"prefix": ${(err as Error).message}`, 'storage-path');
    }
    const delimiter = url.searchParams.get('delimiter') ?? '/';
    const page = await store.list(access.bucket, {
      prefix: access.root + rel,
      ...(delimiter ? { delimiter } : {}),
      continuationToken: url.searchParams.get('continuationToken') || undefined
    });
    const strip = (k: string): string => k.slice(access.root.length);
    sendJson(res, 200, {
      prefix: rel,
      objects: page.objects.map(o => ({ path: strip(o.key), size: o.size, etag: o.etag, lastModified: o.lastModified.toISOString() })),
      prefixes: page.prefixes.map(strip),
      continuationToken: page.continuationToken ?? null
    });
  });
}
