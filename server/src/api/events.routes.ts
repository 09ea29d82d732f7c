/**
 * `GET /api/v1/notebooks/{id}/events`: a server-sent event stream of an instance's status
 * and start progress (openapi.yaml), for consoles and the CLI's progress bars.
 *
 * #### Notes
 * Status changes are pushed by this replica's manager when it makes them, and also read
 * from the database every `STATUS_POLL_MS`, so a stream on one replica reports what another
 * replica did. Progress events exist only on the replica running the start.
 */
import type { FastifyInstance } from 'fastify';
import type { ProgressEvent } from '../drivers/driver';
import type { InstanceRecord } from '../instances/instance';
import { principalOf, type ApiContext } from './context';

const HEARTBEAT_MS = 15_000;
const STATUS_POLL_MS = 1_000;

export function registerEventRoutes(app: FastifyInstance, ctx: ApiContext): void {
  // One listener per open stream; there may be many.
  ctx.instances.setMaxListeners(0);

  app.get('/api/v1/notebooks/:id/events', async (req, reply) => {
    const p = await principalOf(ctx, req);
    const first = await ctx.instances.get(p, (req.params as { id: string }).id);
    const id = first.id;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      // Reverse proxies (nginx) must not buffer the stream.
      'X-Accel-Buffering': 'no'
    });
    let seq = 0;
    let closed = false;
    const send = (event: string, data: unknown): void => {
      if (closed) return;
      res.write(`id: ${++seq}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    let last = { status: first.status, updatedAt: first.updatedAt };
    const sendStatus = (rec: Pick<InstanceRecord, 'status' | 'statusReason' | 'updatedAt'>): void => {
      last = { status: rec.status, updatedAt: rec.updatedAt };
      send('status', { instanceId: id, status: rec.status, statusReason: rec.statusReason, updatedAt: new Date(rec.updatedAt).toISOString() });
    };
    sendStatus(first);
    for (const e of ctx.instances.progressOf(id)) send('progress', { instanceId: id, ...e });

    const onProgress = (instanceId: string, e: ProgressEvent): void => {
      if (instanceId === id) send('progress', { instanceId, ...e });
    };
    const onStatus = (rec: InstanceRecord): void => {
      if (rec.id === id && (rec.status !== last.status || rec.updatedAt !== last.updatedAt)) sendStatus(rec);
    };
    ctx.instances.on('progress', onProgress);
    ctx.instances.on('statusChanged', onStatus);
    const heartbeat = setInterval(() => !closed && res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    let polling = false;
    const poll = setInterval(() => {
      if (polling || closed) return;
      polling = true;
      void ctx.instances.get(p, id)
        .then(rec => onStatus(rec), () => {
          // Deleted (or no longer visible): say so and end the stream.
          send('deleted', { instanceId: id });
          cleanup();
        })
        .finally(() => (polling = false));
    }, STATUS_POLL_MS);
    const cleanup = (): void => {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      clearInterval(poll);
      ctx.instances.off('progress', onProgress);
      ctx.instances.off('statusChanged', onStatus);
      res.end();
    };
    req.raw.on('close', cleanup);
    res.on('error', cleanup);
  });
}
