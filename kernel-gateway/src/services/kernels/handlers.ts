/**
 * `/api/kernels` REST handlers and the `/api/kernels/<id>/channels` WebSocket
 * (jupyter_server api.yaml `/kernels`, `services/kernels/handlers.py`).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import type { WebSocketServer } from 'ws';
import type { Router } from '../../http/router';
import { asObject, readJson, sendJson, sendNoContent } from '../../http/respond';
import { badRequest } from '../../errors';
import type { KernelManager } from './manager';

const BODY_LIMIT = 1 << 20;

export function registerKernelRoutes(router: Router, kernels: KernelManager, baseUrl: string): void {
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
 * Handles an upgrade to `api/kernels/<id>/channels`.
 * @returns false when the path is not a kernel channel (the caller answers 404).
 */
export function handleChannelsUpgrade(
  kernels: KernelManager,
  wss: WebSocketServer,
  relPath: string,
  url: URL,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer
): boolean {
  const m = /^api\/kernels\/([^/]+)\/channels\/?$/.exec(relPath);
  if (!m) return false;
  const kernel = kernels.get(decodeURIComponent(m[1]!));
  const sessionId = url.searchParams.get('session_id') || randomUUID();
  wss.handleUpgrade(req, socket, head, ws => kernels.connect(kernel, sessionId, ws));
  return true;
}
