/**
 * `/api/sessions` (jupyter_server api.yaml `/sessions`, `services/sessions/handlers.py`).
 */
import type { RouteTables } from '../../http/server';
import { asObject, readJson, sendJson, sendNoContent } from '../../http/respond';
import { badRequest } from '../../errors';
import type { KernelChoice, SessionManager } from './manager';

const BODY_LIMIT = 1 << 20;

export function registerSessionRoutes({ http }: RouteTables, sessions: SessionManager, baseUrl: string): void {
  http.get('api/sessions', (_req, res) => sendJson(res, 200, sessions.list()));

  http.post('api/sessions', async (req, res) => {
    const body = legacy(asObject(await readJson(req, BODY_LIMIT)));
    const path = body.path;
    if (typeof path !== 'string') throw badRequest('Missing field in JSON data: path (a string)');
    const type = body.type;
    if (typeof type !== 'string') throw badRequest('Missing field in JSON data: type (e.g. "notebook", "console", "file")');
    const name = optionalString(body.name, 'name') ?? '';
    const kernel = kernelChoice(body.kernel) ?? { name: undefined };
    const model = await sessions.create(path, type, name, kernel);
    sendJson(res, 201, model, { Location: `${baseUrl}api/sessions/${model.id}` });
  });

  http.get('api/sessions/:id', (_req, res, { id }) => sendJson(res, 200, sessions.get(id!)));

  http.patch('api/sessions/:id', async (req, res, { id }) => {
    const body = legacy(asObject(await readJson(req, BODY_LIMIT)));
    const changes = {
      path: optionalString(body.path, 'path'),
      name: optionalString(body.name, 'name'),
      type: optionalString(body.type, 'type'),
      kernel: kernelChoice(body.kernel)
    };
    sendJson(res, 200, await sessions.update(id!, changes));
  });

  http.delete('api/sessions/:id', async (_req, res, { id }) => {
    await sessions.delete(id!);
    sendNoContent(res);
  });
}

/** The pre-2016 API sent `{notebook: {path}}`; jupyter_server still accepts it. */
function legacy(body: Record<string, unknown>): Record<string, unknown> {
  const nb = body.notebook;
  if (nb && typeof nb === 'object' && typeof (nb as { path?: unknown }).path === 'string') {
    return { ...body, path: (nb as { path: string }).path, type: 'notebook' };
  }
  return body;
}

function optionalString(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw badRequest(`"${field}" must be a string`);
  return v;
}

/** `{id}` takes precedence over `{name}`, as in jupyter_server. */
function kernelChoice(v: unknown): KernelChoice | undefined {
  if (v === undefined || v === null) return undefined;
  const k = asObject(v, '"kernel"');
  if (k.id !== undefined && k.id !== null) {
    if (typeof k.id !== 'string') throw badRequest('"kernel.id" must be a string');
    return { id: k.id };
  }
  if (k.name !== undefined && k.name !== null && typeof k.name !== 'string') throw badRequest('"kernel.name" must be a string');
  return { name: (k.name as string | null | undefined) ?? undefined };
}
