/**
 * `/api/v1/tokens`: the caller's API tokens (openapi.yaml). A token is shown once, stored
 * as a hash, may expire and may be limited to SPEC §9 action patterns.
 */
import type { FastifyInstance } from 'fastify';
import { Errors } from '../errors';
import type { TokenInfo } from '../auth/user-store';
import { actorOf, sourceIpOf } from '../audit/audit';
import { actionPatternProblem } from '../policy/validate';
import type { ApiTokenInfo, CreatedApiToken } from './types';
import { principalOf, type ApiContext } from './context';
import { requireUnscoped } from './guards';

const MAX_EXPIRY_DAYS = 3650;
const NAME = /^[\p{L}\p{N} ._:@-]{1,64}$/u;

export function toTokenWire(t: TokenInfo): ApiTokenInfo {
  const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
  return { id: t.id, name: t.name, createdAt: new Date(t.createdAt).toISOString(), expiresAt: iso(t.expiresAt), lastUsedAt: iso(t.lastUsedAt), scope: t.scope };
}

export function registerTokenRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/v1/tokens', async req => {
    const p = await principalOf(ctx, req);
    requireUnscoped(p, 'listing tokens');
    return { items: (await ctx.users.listTokens(p.userId, 'api')).map(toTokenWire) };
  });

  app.post('/api/v1/tokens', async (req, reply) => {
    const p = await principalOf(ctx, req);
    requireUnscoped(p, 'creating tokens');
    const body = validateCreateToken(req.body);
    const { id, token } = await ctx.users.issueToken(p.userId, 'api', body.name, body.expiresAt, body.scope);
    const info = (await ctx.users.listTokens(p.userId, 'api')).find(t => t.id === id)!;
    await ctx.audit.record({
      action: 'createToken', actor: actorOf(p), sourceIp: sourceIpOf(req.raw, ctx.config.trustProxy), result: 'success',
      resource: { type: 'token', id, name: body.name, ownerId: p.userId }, details: { expiresAt: info.expiresAt, scope: info.scope }
    });
    const res: CreatedApiToken = { ...toTokenWire(info), token };
    reply.code(201).header('Location', `/api/v1/tokens/${id}`).header('Cache-Control', 'no-store');
    return res;
  });

  app.delete('/api/v1/tokens/:id', async (req, reply) => {
    const p = await principalOf(ctx, req);
    requireUnscoped(p, 'revoking tokens');
    const id = (req.params as { id: string }).id;
    const ok = await ctx.users.revokeTokenById(p.userId, id);
    await ctx.audit.record({
      action: 'revokeToken', actor: actorOf(p), sourceIp: sourceIpOf(req.raw, ctx.config.trustProxy), result: ok ? 'success' : 'failure',
      resource: { type: 'token', id, ownerId: p.userId }
    });
    if (!ok) throw Errors.TOKEN_NOT_FOUND(id);
    reply.code(204);
  });
}

interface CreateTokenRequest {
  name: string;
  expiresAt: number | null;
  scope: string[] | null;
}

function validateCreateToken(body: unknown): CreateTokenRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw Errors.VALIDATION('request body must be a JSON object');
  const o = body as Record<string, unknown>;
  const extra = Object.keys(o).filter(k => !['name', 'expiresInDays', 'expiresAt', 'scope'].includes(k));
  if (extra.length) throw Errors.VALIDATION(`unknown field(s) ${extra.join(', ')}; allowed: name, expiresInDays, expiresAt, scope`);
  if (typeof o.name !== 'string' || !NAME.test(o.name)) throw Errors.VALIDATION('"name" is required: 1–64 letters, digits, spaces and . _ : @ -');
  let expiresAt: number | null = null;
  if (o.expiresInDays !== undefined && o.expiresAt !== undefined) throw Errors.VALIDATION('send "expiresInDays" or "expiresAt", not both');
  if (o.expiresInDays !== undefined) {
    const d = o.expiresInDays;
    if (typeof d !== 'number' || !(d > 0) || d > MAX_EXPIRY_DAYS) throw Errors.VALIDATION(`"expiresInDays" must be a number of days above 0 and at most ${MAX_EXPIRY_DAYS}`);
    expiresAt = Date.now() + Math.round(d * 86_400_000);
  }
  if (o.expiresAt !== undefined) {
    const t = typeof o.expiresAt === 'string' ? Date.parse(o.expiresAt) : NaN;
    if (!Number.isFinite(t)) throw Errors.VALIDATION('"expiresAt" must be an ISO 8601 time, e.g. 2027-01-31T00:00:00Z');
    if (t <= Date.now()) throw Errors.VALIDATION('"expiresAt" must be in the future');
    if (t > Date.now() + MAX_EXPIRY_DAYS * 86_400_000) throw Errors.VALIDATION(`"expiresAt" must be within ${MAX_EXPIRY_DAYS} days`);
    expiresAt = t;
  }
  let scope: string[] | null = null;
  if (o.scope !== undefined && o.scope !== null) {
    if (!Array.isArray(o.scope) || o.scope.length === 0 || o.scope.length > 50 || !o.scope.every(s => typeof s === 'string')) {
      throw Errors.VALIDATION('"scope" must be a non-empty array of action patterns such as "notebook:*" or "notebook:get"');
    }
    for (const s of o.scope as string[]) {
      const problem = actionPatternProblem(s);
      if (problem) throw Errors.VALIDATION(`"scope": ${problem}`);
    }
    scope = o.scope as string[];
  }
  return { name: o.name, expiresAt, scope };
}
