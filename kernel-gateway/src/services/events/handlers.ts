/**
 * `api/events/subscribe` (WebSocket) and `POST api/events` (jupyter_server 2.x
 * `services/events/handlers.py`), the event stream JupyterLab's `EventManager` follows.
 */
import type { RouteTables } from '../../http/server';
import { asObject, readJson, sendNoContent } from '../../http/respond';
import { badRequest } from '../../errors';
import type { EventBus } from './bus';

export function registerEventRoutes({ http, ws }: RouteTables, bus: EventBus): void {
  ws.add('api/events/subscribe', async ({ accept }) => {
    const socket = await accept();
    const sub = bus.subscribe(event => {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(event));
    });
    socket.once('close', () => sub.dispose());
  });

  http.post('api/events', async (req, res) => {
    const body = asObject(await readJson(req, 1 << 20));
    const { schema_id, version, data, timestamp } = body;
    if (typeof schema_id !== 'string') throw badRequest('"schema_id" must be a string');
    // jupyter_events has used both 1 and "1"; @jupyterlab/services types it as a string.
    const v = typeof version === 'string' && /^\d+$/.test(version) ? Number(version) : version;
    if (typeof v !== 'number') throw badRequest('"version" must be the schema version, e.g. 1');
    if (timestamp !== undefined && (typeof timestamp !== 'string' || Number.isNaN(Date.parse(timestamp)))) {
      throw badRequest('"timestamp" must be an ISO 8601 date');
    }
    try {
      bus.emit(schema_id, v, asObject(data, '"data"'), timestamp as string | undefined);
    } catch (err) {
      throw badRequest((err as Error).message);
    }
    sendNoContent(res);
  });
}
