/**
 * JupyterLab's server API, answered by the gateway under `/notebooks/<id>/lab/api/`
 * (jupyterlab_server's handlers: settings, workspaces, translations, themes, and the few
 * informational ones the lab asks for). Settings are per user; workspaces per user and
 * instance. The caller must be allowed to see the instance.
 *
 * #### Notes
 * JupyterLab sends JSON bodies as `text/plain` when it has no token (cookie sessions), so
 * these routes read `text/plain` bodies as JSON; the Origin check of cookie-authenticated
 * writes still applies (Authenticator).
 */
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Errors } from '../errors';
import { principalOf, type ApiContext } from '../api/context';
import type { Principal } from '../auth/principal';
import { sendError } from '../api/error-handler';
import { sendStatic } from './static-files';
import type { LabAssets } from './lab-page';
import { LabSettings, SchemaCatalogue } from './lab-settings';
import { LabStateStore } from './lab-state-store';

const gzipAsync = promisify(gzip);
/** Smaller answers are sent as they are: compressing them saves nothing worth the time. */
const COMPRESS_MIN_BYTES = 4096;

/** Workspace names: what JupyterLab's router accepts in `/lab/workspaces/<name>`. */
const WORKSPACE_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function registerLabApiRoutes(app: FastifyInstance, ctx: ApiContext, lab: LabAssets): void {
  const store = new LabStateStore(ctx.db);
  const settings = new LabSettings(new SchemaCatalogue(lab.schemasFile), store, async () => (await lab.load()).info.version);

  /** The principal, after checking that it may see the instance. */
  const who = async (req: FastifyRequest): Promise<{ p: Principal; id: string }> => {
    const p = await principalOf(ctx, req);
    const { id } = req.params as { id: string };
    await ctx.instances.get(p, id);
    return { p, id };
  };
  const wsId = (req: FastifyRequest): string => {
    const { ws } = req.params as { ws: string };
    if (!WORKSPACE_ID.test(ws)) throw Errors.VALIDATION(`workspace name "${ws}" is not allowed: use 1–64 letters, digits, ".", "_" or "-"`);
    return ws;
  };

  void app.register(async scope => {
    scope.addContentTypeParser('text/plain', { parseAs: 'string' }, (_req, body, done) => {
      try {
        done(null, body === '' ? undefined : JSON.parse(body as string));
      } catch (err) {
        done(Errors.BAD_REQUEST(`the body is not JSON: ${(err as Error).message}`), undefined);
      }
    });
    // The settings list carries every schema (~120 kB of JSON at each lab start): compress
    // answers that are worth it when the browser accepts gzip.
    scope.addHook('onSend', async (req, reply, payload) => {
      if (typeof payload !== 'string' || payload.length < COMPRESS_MIN_BYTES) return payload;
      if (!/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? '')) || reply.hasHeader('content-encoding')) return payload;
      reply.header('Content-Encoding', 'gzip').header('Vary', 'Accept-Encoding').removeHeader('content-length');
      return gzipAsync(payload, { level: 6 });
    });
    const P = '/notebooks/:id/lab/api';

    scope.get(`${P}/settings`, async req => {
      const { p } = await who(req);
      if ((req.query as Record<string, string>).ids_only === 'true') return { settings: (await settings.ids()).map(id => ({ id })) };
      return { settings: await settings.list(p.userId) };
    });
    scope.get(`${P}/settings/*`, async req => {
      const { p } = await who(req);
      return settings.get(p.userId, (req.params as { '*': string })['*']);
    });
    scope.put(`${P}/settings/*`, async (req, reply) => {
      const { p } = await who(req);
      await settings.save(p.userId, (req.params as { '*': string })['*'], req.body);
      reply.code(204);
    });

    scope.get(`${P}/workspaces`, async req => {
      const { p, id } = await who(req);
      const all = await store.workspaces(p.userId, id);
      return { workspaces: { ids: all.map(w => w.id), values: all.map(w => JSON.parse(w.data) as unknown) } };
    });
    scope.get(`${P}/workspaces/:ws`, async req => {
      const { p, id } = await who(req);
      const ws = wsId(req);
      const found = await store.workspace(p.userId, id, ws);
      return found ? (JSON.parse(found.data) as unknown) : { data: {}, metadata: { id: ws } };
    });
    scope.put(`${P}/workspaces/:ws`, async (req, reply) => {
      const { p, id } = await who(req);
      const ws = wsId(req);
      const body = req.body as { data?: unknown; metadata?: { id?: unknown } } | undefined;
      if (!body || typeof body.data !== 'object' || body.data === null || Array.isArray(body.data)) {
        throw Errors.VALIDATION('send {"data": {...}, "metadata": {"id": "<workspace>"}}');
      }
      const doc = { data: body.data, metadata: { ...(typeof body.metadata === 'object' ? body.metadata : {}), id: ws, last_modified: new Date().toISOString() } };
      await store.saveWorkspace(p.userId, id, ws, JSON.stringify(doc));
      reply.code(204);
    });
    scope.delete(`${P}/workspaces/:ws`, async (req, reply) => {
      const { p, id } = await who(req);
      const ws = wsId(req);
      if (!(await store.deleteWorkspace(p.userId, id, ws))) throw Errors.LAB_WORKSPACE_NOT_FOUND(ws);
      reply.code(204);
    });

    // Only English ships; JupyterLab shows its built-in strings.
    scope.get(`${P}/translations`, async req => {
      await who(req);
      return { data: { en: { displayName: 'English', nativeName: 'English' } }, message: '' };
    });
    scope.get(`${P}/translations/:locale`, async req => {
      await who(req);
      return { data: {}, message: '' };
    });

    scope.get(`${P}/themes/*`, async (req: FastifyRequest, reply: FastifyReply) => {
      await who(req);
      reply.hijack();
      if (!(await sendStatic(req.raw, reply.raw, lab.themesDir, (req.params as { '*': string })['*']))) sendError(reply.raw, Errors.NOT_FOUND(req.method, req.url.split('?')[0]));
    });

    // Announcements are disabled (no internet); answer like a server with nothing to say.
    scope.get(`${P}/update`, async req => {
      await who(req);
      return { notification: null };
    });
    scope.get(`${P}/news`, async req => {
      await who(req);
      return { news: [] };
    });
    scope.get(`${P}/licenses`, async req => {
      await who(req);
      return { bundles: {} };
    });
    scope.all(`${P}/*`, async req => {
      await who(req);
      throw Errors.NOT_FOUND(req.method, req.url.split('?')[0]);
    });
  });
}
