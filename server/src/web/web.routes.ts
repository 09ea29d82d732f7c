/**
 * The browser surfaces on the gateway: the console at `/`, built assets at `/static/…`, and
 * each instance's JupyterLab page at `/notebooks/<id>/lab[/…]` (its `lab/api/*` is in
 * `lab-api.routes.ts`; everything else under `/notebooks/<id>/` goes to the instance).
 *
 * #### Notes
 * - The console is public (it signs in by itself); the lab page is for whoever may open the
 *   instance (its owner, or an admin), only while it is RUNNING; a signed-out browser is sent
 *   to the console's sign-in with the page to come back to.
 * - Assets carry content hashes in their names and are cached for a year; pages are not.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Errors, HttpError } from '../errors';
import { sendError } from '../api/error-handler';
import type { ApiContext } from '../api/context';
import { isAllowed } from '../instances/state-machine';
import { sendStatic } from './static-files';
import { LabAssets, labPageConfig, messagePage, parseLabPath, renderLabPage } from './lab-page';
import { registerLabApiRoutes } from './lab-api.routes';

const NO_STORE = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'same-origin' };

export function registerWebRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const webDir = ctx.config.webDir;
  const lab = new LabAssets(webDir);

  const serve = async (req: FastifyRequest, reply: FastifyReply, dir: string, path: string): Promise<void> => {
    reply.hijack();
    if (!(await sendStatic(req.raw, reply.raw, dir, path))) sendError(reply.raw, Errors.NOT_FOUND(req.method, req.url.split('?')[0]));
  };

  app.get('/', async (req, reply) => {
    if (await stat(join(webDir, 'console', 'index.html')).catch(() => null)) {
      reply.hijack();
      await sendStatic(req.raw, reply.raw, join(webDir, 'console'), 'index.html');
      return;
    }
    const e = Errors.WEB_NOT_BUILT();
    reply.code(e.statusCode).type('text/html; charset=utf-8').headers(NO_STORE);
    return messagePage('Console not built', e.message, { href: '/api/v1/health', text: 'Gateway health' });
  });

  app.get('/static/console/*', (req, reply) => serve(req, reply, join(webDir, 'console'), (req.params as { '*': string })['*']));
  app.get('/static/lab/*', (req, reply) => serve(req, reply, lab.staticDir, (req.params as { '*': string })['*']));

  const labPage = async (req: FastifyRequest, reply: FastifyReply): Promise<string> => {
    const { id } = req.params as { id: string };
    const rest = (req.params as { '*'?: string })['*'] ?? '';
    reply.type('text/html; charset=utf-8').headers(NO_STORE);
    let principal;
    try {
      principal = await ctx.auth.authenticate(req.raw);
    } catch (err) {
      if (err instanceof HttpError && err.statusCode === 401) {
        const next = req.url.split('#')[0]!;
        void reply.code(302).header('Location', `/#/signin?next=${encodeURIComponent(next)}`);
        return '';
      }
      throw err;
    }
    let rec;
    try {
      rec = await ctx.instances.get(principal, id);
    } catch (err) {
      if (err instanceof HttpError && err.statusCode === 404) {
        reply.code(404);
        return messagePage('Instance not found', err.message, { href: '/', text: 'Back to the console' });
      }
      throw err;
    }
    if (!isAllowed('open', rec.status)) {
      reply.code(409);
      return messagePage(
        `${rec.name} is ${rec.status}`,
        `JupyterLab opens when the instance is RUNNING; it is ${rec.status} now${rec.statusReason ? ` (${rec.statusReason})` : ''}. Start it from the console, then open it again.`,
        { href: `/#/notebooks/${encodeURIComponent(rec.id)}`, text: `Open ${rec.name} in the console` }
      );
    }
    const { template, info } = await lab.load();
    const config = labPageConfig({ instance: rec, user: { name: principal.name, role: principal.role }, build: info, location: parseLabPath(rest) });
    return renderLabPage(template, config);
  };
  app.get('/notebooks/:id/lab', labPage);
  app.get('/notebooks/:id/lab/*', labPage);

  registerLabApiRoutes(app, ctx, lab);
}

/** True for the paths this module serves under `/notebooks/<id>/` (the rest is proxied). */
export function isLabPath(url: string | undefined): boolean {
  return url !== undefined && /^\/notebooks\/[a-z0-9]{1,64}\/lab(\/|\?|$)/.test(url);
}
