/**
 * `/api/terminals` (jupyter_server api.yaml `/terminals`, `terminal/api_handlers.py`) and
 * the terminado WebSocket at `terminals/websocket/<name>`.
 */
import type { RouteTables } from '../../http/server';
import { asObject, readJson, sendJson, sendNoContent } from '../../http/respond';
import { badRequest } from '../../errors';
import type { TerminalManager } from './manager';

const BODY_LIMIT = 64 << 10;

export function registerTerminalRoutes({ http, ws }: RouteTables, terminals: TerminalManager): void {
  http.get('api/terminals', (_req, res) => sendJson(res, 200, terminals.list()));

  // jupyter_server answers 200 here, and @jupyterlab/services expects exactly that.
  http.post('api/terminals', async (req, res) => {
    const body = asObject(await readJson(req, BODY_LIMIT));
    const { name, cwd } = body;
    if (name !== undefined && typeof name !== 'string') throw badRequest('"name" must be a string');
    if (cwd !== undefined && typeof cwd !== 'string') throw badRequest('"cwd" must be a string (a directory under the root)');
    sendJson(res, 200, await terminals.create(name, cwd));
  });

  http.get('api/terminals/:name', (_req, res, { name }) => sendJson(res, 200, terminals.get(name!).model));

  http.delete('api/terminals/:name', async (_req, res, { name }) => {
    await terminals.delete(name!);
    sendNoContent(res);
  });

  ws.add('terminals/websocket/:name', async ({ params, accept }) => {
    const terminal = terminals.get(params.name!);
    terminal.attach(await accept());
  });
}
