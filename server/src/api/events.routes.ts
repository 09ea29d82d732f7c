/**
 * `GET /api/v1/notebooks/{id}/events`: a server-sent event stream of an instance's status
 * and start progress (openapi.yaml), for consoles and the CLI's progress bars.
 *
 * #### Notes
 * Status changes and start progress are pushed by this replica's manager when it makes them,
 * and also read from the database every `STATUS_POLL_MS`, so a stream on one replica reports
 * what another replica did (its progress a second late at most). A start is told from the next
 * by its `run`; within one, events are sent once each, in order.
 */
import type { FastifyInstance } from 'fastify';
import type { ProgressEvent } from '../drivers/driver';
import type { InstanceRecord, StartProgress } from '../instances/instance';
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
    // Which start's progress the client has, and how many of its events.
    let run = -1;
    let sent = 0;
    const sendProgress = (p: StartProgress): void => {
      if (p.run !== run) {
        run = p.run;
        sent = 0;
      }
      for (const e of p.events.slice(sent)) send('progress', { instanceId: id, ...e });
      sent = Math.max(sent, p.events.length);
    };
    sendProgress(ctx.instances.progressOf(first));

    const onProgress = (instanceId: string, e: ProgressEvent, startRun: number): void => {
      if (instanceId !== id) return;
      if (startRun !== run) {
        run = startRun;
        sent = 0;
      }
      send('progress', { instanceId, ...e });
      sent++;
    };
    const onStatus = (rec: InstanceRecord): void => {
      if (rec.id === id && (rec.status !== last.status || rec.updatedAt !== last.updatedAt)) sendStatus(rec);
    };
    const onRead = (rec: InstanceRecord): void => {
      sendProgress(ctx.instances.progressOf(rec));
      onStatus(rec);
    };
    ctx.instances.on('progress', onProgress);
    ctx.instances.on('statusChanged', onStatus);
    const heartbeat = setInterval(() => !closed && res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    let polling = false;
    const poll = setInterval(() => {
      if (polling || closed) return;
      polling = true;
      void ctx.instances.get(p, id)
        .then(rec => onRead(rec), () => {
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
