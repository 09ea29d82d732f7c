/**
 * `Idempotency-Key` on creates (operations marked `x-idempotent` in openapi.yaml): the first
 * request with a key runs and its answer is kept; a retry with the same key and the same
 * request gets that answer again (`Idempotent-Replayed: true`) instead of a second instance.
 *
 * #### Notes
 * - Keys are per user and kept `idempotencyTtlHours` (24). The row is claimed before the
 *   handler runs (a primary-key insert), so two concurrent retries cannot both act, on any
 *   replica: the second gets 409 until the first finishes.
 * - 5xx answers are not kept (the key is released), so a retry after a crash can succeed.
 * - The same key with a different method, path or body is refused with 422.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Errors } from '../errors';
import type { ISqlDatabase } from '../db/database';
import { principalOf, type ApiContext } from './context';

const KEY = /^[\x21-\x7e]{1,255}$/;
/** A claim older than this is taken over (its request died without answering). */
const STALE_PENDING_MS = 5 * 60_000;
const KEPT_HEADERS = ['content-type', 'location'];

interface Row {
  request_hash: string;
  state: string;
  status_code: number | null;
  headers: string | null;
  body: string | null;
  created_at: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    idempotency: { userId: string; key: string } | null;
  }
}

export function registerIdempotency(app: FastifyInstance, ctx: ApiContext): void {
  const db = ctx.db;
  const ttlMs = ctx.config.idempotencyTtlHours * 3_600_000;
  let lastPurge = 0;
  app.decorateRequest('idempotency', null);

  app.addHook('preHandler', async (req: FastifyRequest, reply: FastifyReply) => {
    const raw = req.headers['idempotency-key'];
    if (raw === undefined || !req.routeOptions.config.idempotent) return;
    const key = Array.isArray(raw) ? raw[0]! : raw;
    if (!KEY.test(key)) throw Errors.VALIDATION('"Idempotency-Key" must be 1–255 printable ASCII characters without spaces (a UUID is a good choice)');
    const p = await principalOf(ctx, req);
    const now = Date.now();
    if (now - lastPurge > 600_000) {
      lastPurge = now;
      await db.run('DELETE FROM idempotency_keys WHERE created_at < $1', [now - ttlMs]);
    }
    const hash = requestHash(req);
    if (await claim(db, p.userId, key, hash, now)) {
      req.idempotency = { userId: p.userId, key };
      return;
    }
    const row = await db.get<Row>('SELECT * FROM idempotency_keys WHERE user_id = $1 AND key = $2', [p.userId, key]);
    if (!row) throw Errors.IDEMPOTENCY_IN_PROGRESS(key);
    if (row.request_hash !== hash) throw Errors.IDEMPOTENCY_MISMATCH(key);
    if (row.state !== 'done') throw Errors.IDEMPOTENCY_IN_PROGRESS(key);
    const headers = row.headers ? (JSON.parse(row.headers) as Record<string, string>) : {};
    reply.code(Number(row.status_code)).headers(headers).header('Idempotent-Replayed', 'true');
    return reply.send(row.body ?? '');
  });

  app.addHook('onSend', async (req, reply, payload) => {
    const idem = req.idempotency;
    if (!idem) return payload;
    req.idempotency = null;
    if (reply.statusCode >= 500 || typeof payload !== 'string') {
      // Not kept: a later retry runs again.
      await db.run('DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2', [idem.userId, idem.key]);
      return payload;
    }
    const headers: Record<string, string> = {};
    for (const h of KEPT_HEADERS) {
      const v = reply.getHeader(h);
      if (v !== undefined) headers[h] = String(v);
    }
    await db.run(
      `UPDATE idempotency_keys SET state = 'done', status_code = $1, headers = $2, body = $3 WHERE user_id = $4 AND key = $5`,
      [reply.statusCode, JSON.stringify(headers), payload, idem.userId, idem.key]
    );
    return payload;
  });
}

/** Claims a key for this request. @returns false when it exists (and is not a stale claim). */
async function claim(db: ISqlDatabase, userId: string, key: string, hash: string, now: number): Promise<boolean> {
  // A stale pending claim (its request died) is released first.
  await db.run(`DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND state = 'pending' AND created_at < $3`, [userId, key, now - STALE_PENDING_MS]);
  const { changes } = await db.run(
    `INSERT INTO idempotency_keys (user_id, key, request_hash, state, created_at) VALUES ($1, $2, $3, 'pending', $4)
     ON CONFLICT (user_id, key) DO NOTHING`,
    [userId, key, hash, now]
  );
  return changes === 1;
}

function requestHash(req: FastifyRequest): string {
  return createHash('sha256').update(`${req.method} ${req.url.split('?')[0]}\n${canonical(req.body)}`).digest('hex');
}

/** JSON with sorted keys, so `{a,b}` and `{b,a}` are the same request. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v as object).sort().map(k => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}
