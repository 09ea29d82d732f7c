/**
 * Sign-in with a password (sets the session cookie and returns the same session token for
 * API clients), sign-out, and who-am-I.
 */
import type { FastifyInstance } from 'fastify';
import { Errors } from '../errors';
import { verifyPassword } from '../auth/passwords';
import { SESSION_COOKIE } from '../auth/principal';
import { readCookie } from '../auth/authenticate';
import type { LoginResponse } from './types';
import { principalOf, type ApiContext } from './context';

export function registerAuthRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.post('/api/v1/auth/login', async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body.username !== 'string' || typeof body.password !== 'string') {
      throw Errors.VALIDATION('send {"username": "...", "password": "..."}');
    }
    const user = await ctx.users.byName(body.username);
    // Verify even for unknown users so timing does not reveal which names exist.
    const ok = await verifyPassword(body.password, user?.passwordHash ?? 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=');
    if (!user || !ok || user.disabled) throw Errors.BAD_CREDENTIALS();
    const ttl = ctx.config.sessionTtlHours * 3_600_000;
    const expiresAt = Date.now() + ttl;
    const { token } = await ctx.users.issueToken(user.id, 'session', 'sign-in', expiresAt);
    reply.header(
      'Set-Cookie',
      `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${Math.floor(ttl / 1000)}`
    );
    const res: LoginResponse = { token, expiresAt: new Date(expiresAt).toISOString(), user: { id: user.id, name: user.name, role: user.role } };
    return res;
  });

  app.post('/api/v1/auth/logout', async (req, reply) => {
    const header = req.headers.authorization;
    const token = header ? /^(?:bearer|token)\s+(\S+)$/i.exec(header.trim())?.[1] : readCookie(req.headers.cookie, SESSION_COOKIE);
    if (token) await ctx.users.revokeToken(token);
    reply.header('Set-Cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`);
    reply.code(204);
  });

  app.get('/api/v1/me', async req => {
    const p = await principalOf(ctx, req);
    return { id: p.userId, name: p.name, role: p.role };
  });
}
