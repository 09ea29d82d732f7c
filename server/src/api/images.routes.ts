/**
 * Custom images (SPEC §5): save a RUNNING instance as an image, list, describe, delete.
 *
 * `POST /api/v1/notebooks/:id/images` waits for the save and answers 201 with the image; with
 * `Accept: text/event-stream` it streams `progress` events and ends with `result` or `error`.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { HttpError } from '../errors';
import type { CustomImageRecord } from '../images/custom-image-store';
import { validateSaveRequest, type SaveProgress } from '../images/save-image';
import { errorBody, toHttpError } from './error-handler';
import { principalOf, type ApiContext } from './context';

export interface CustomImage {
  id: string;
  /** What users write in `image` when creating an instance or a job. */
  name: string;
  tag: string;
  owner: { id: string; name: string };
  baseImage: string;
  sourceInstanceId: string | null;
  sizeBytes: number | null;
  description: string;
  /** Registry reference and digest, once pushed. */
  pushedRef: string | null;
  digest: string | null;
  /** Push to the configured registry: pending, pushed or failed; null without a registry. */
  push: { status: 'pending' | 'pushed' | 'failed'; error: string | null } | null;
  createdAt: string;
}

export function toWireImage(r: CustomImageRecord): CustomImage {
  return {
    id: r.id, name: `${r.name}:${r.tag}`, tag: r.tag, owner: { id: r.ownerId, name: r.ownerName }, baseImage: r.baseImage,
    sourceInstanceId: r.sourceInstanceId, sizeBytes: r.sizeBytes, description: r.description, pushedRef: r.pushedRef,
    digest: r.digest, push: r.pushStatus ? { status: r.pushStatus, error: r.pushError } : null, createdAt: new Date(r.createdAt).toISOString()
  };
}

export function registerImageRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.post('/api/v1/notebooks/:id/images', async (req, reply) => {
    const p = await principalOf(ctx, req);
    const body = validateSaveRequest(req.body);
    const id = (req.params as { id: string }).id;
    const sourceIp = req.ip ?? null;
    if (!String(req.headers.accept ?? '').includes('text/event-stream')) {
      const rec = await ctx.saveImage.save(p, id, body, { sourceIp });
      reply.code(201).header('Location', `/api/v1/custom-images/${rec.id}`);
      return toWireImage(rec);
    }
    return streamSave(reply, ctx, async onProgress => toWireImage(await ctx.saveImage.save(p, id, body, { sourceIp, onProgress })));
  });

  app.get('/api/v1/custom-images', async req => {
    const p = await principalOf(ctx, req);
    const items = await ctx.saveImage.list(p, (req.query as { all?: string }).all === 'true');
    return { items: items.map(toWireImage) };
  });

  app.get('/api/v1/custom-images/:imageId', async req => {
    const p = await principalOf(ctx, req);
    const rec = await ctx.saveImage.get(p, (req.params as { imageId: string }).imageId);
    return toWireImage(rec);
  });

  app.delete('/api/v1/custom-images/:imageId', async (req, reply) => {
    const p = await principalOf(ctx, req);
    await ctx.saveImage.remove(p, (req.params as { imageId: string }).imageId);
    reply.code(204);
  });
}

/** Runs `work` while streaming its progress as server-sent events. */
async function streamSave(reply: FastifyReply, ctx: ApiContext, work: (onProgress: (p: SaveProgress) => void) => Promise<CustomImage>): Promise<FastifyReply> {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
  const send = (event: string, data: unknown): void => {
    if (!res.writableEnded) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  try {
    send('result', await work(p => send('progress', p)));
  } catch (err) {
    const e = err instanceof HttpError ? err : toHttpError(err, ctx.log, 'save-image');
    send('error', { status: e.statusCode, ...errorBody(e) });
  }
  res.end();
  return reply;
}

