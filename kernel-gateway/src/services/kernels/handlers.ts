/**
 * `/api/kernels` REST handlers and the `/api/kernels/<id>/channels` WebSocket
 * (jupyter_server api.yaml `/kernels`, `services/kernels/handlers.py`).
 */
import { randomUUID } from 'node:crypto';
import type { RouteTables } from '../../http/server';
import type { WsRouter } from '../../http/ws-router';
import { asObject, readJson, sendJson, sendNoContent } from '../../http/respond';
import { badRequest } from '../../errors';
import type { KernelManager } from './manager';
import { V1_PROTOCOL } from './ws-serialize';

const BODY_LIMIT = 1 << 20;

export function registerKernelRoutes({ http: router, ws }: RouteTables, kernels: KernelManager, baseUrl: string): void {
  router.get('api/kernels', (_req, res) => sendJson(res, 200, kernels.list()));

  router.post('api/kernels', async (req, res) => {
    const body = asObject(await readJson(req, BODY_LIMIT));
    const { name, path, env } = body;
    if (name !== undefined && typeof name !== 'string') throw badRequest('"name" must be a string (a kernelspec name)');
    if (path !== undefined && path !== null && typeof path !== 'string') throw badRequest('"path" must be a string');
    const extraEnv = parseEnv(env);
    const model = await kernels.start(name as string | undefined, (path as string | undefined) ?? undefined, extraEnv);
    sendJson(res, 201, model, { Location: `${baseUrl}api/kernels/${model.id}` });
  });

  router.get('api/kernels/:id', (_req, res, { id }) => sendJson(res, 200, kernels.model(id!)));

  router.delete('api/kernels/:id', async (_req, res, { id }) => {
    await kernels.shutdown(id!);
    sendNoContent(res);
  });

  router.post('api/kernels/:id/interrupt', async (_req, res, { id }) => {
    await kernels.interrupt(id!);
    sendNoContent(res);
  });

  router.post('api/kernels/:id/restart', async (_req, res, { id }) => {
    sendJson(res, 200, await kernels.restart(id!));
  });

  registerKernelChannels(ws, kernels);
}

function parseEnv(env: unknown): Record<string, string> {
  if (env === undefined || env === null) return {};
  const obj = asObject(env, '"env"');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw badRequest(`"env" key "${k}" is not a valid variable name`);
    if (typeof v !== 'string') throw badRequest(`"env.${k}" must be a string`);
    out[k] = v;
  }
  return out;
}

/**
 * `api/kernels/<id>/channels`: attaches the WebSocket to the client session named by
 * `session_id` (a new one when absent), speaking v1 when the client offers it.
 */
function registerKernelChannels(ws: WsRouter, kernels: KernelManager): void {
  ws.add(
    'api/kernels/:id/channels',
    async ({ params, url, accept }) => {
      const kernel = kernels.get(params.id!);
      const sessionId = url.searchParams.get('session_id') || randomUUID();
      kernels.connect(kernel, sessionId, await accept());
    },
    { protocols: [V1_PROTOCOL] }
  );
}
