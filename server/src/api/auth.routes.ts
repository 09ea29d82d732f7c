/**
 * Sign-in with a password (sets the session and `_xsrf` cookies and returns the same session
 * token for API clients), sign-out, who-am-I, and password change (openapi.yaml).
 */
import type { FastifyInstance } from 'fastify';
import { Errors } from '../errors';
import { hashPassword, passwordProblem, verifyPassword } from '../auth/passwords';
import { SESSION_COOKIE } from '../auth/principal';
import { clearedSessionCookies, readCookie, sessionCookies } from '../auth/authenticate';
import { actorOf, sourceIpOf } from '../audit/audit';
import type { LoginResponse } from './types';
import { principalOf, type ApiContext } from './context';
import { requireUnscoped } from './guards';

/** Verifying against this when the user is unknown keeps timing from revealing names. */
const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

export function registerAuthRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const secure = ctx.config.publicUrl.startsWith('https:');

  app.post('/api/v1/auth/login', async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body.username !== 'string' || typeof body.password !== 'string') {
      throw Errors.VALIDATION('send {"username": "...", "password": "..."}');
    }
    const sourceIp = sourceIpOf(req.raw, ctx.config.trustProxy);
    // Claimed before the (slow) password check, so parallel guesses cannot all get through.
    const claim = await ctx.loginLimiter.claim(body.username, sourceIp);
    if ('retryAfter' in claim) {
      reply.header('Retry-After', String(claim.retryAfter));
      throw Errors.RATE_LIMITED(claim.retryAfter, { retryAfterSeconds: claim.retryAfter });
    }
    const user = await ctx.users.byName(body.username);
    const ok = await verifyPassword(body.password, user?.passwordHash ?? DUMMY_HASH);
    if (!user || !ok || user.disabled) {
      // The claim stays: it is the failure.
      if (user) {
        await ctx.audit.record({
          action: 'login', actor: { id: user.id, name: user.name }, sourceIp, result: 'failure',
          resource: { type: 'session', id: '', ownerId: user.id }, details: { code: 'NB_ERR_BAD_CREDENTIALS' }
        });
      }
      throw Errors.BAD_CREDENTIALS();
    }
    await ctx.loginLimiter.succeeded(body.username, claim.attempt);
    const ttl = ctx.config.sessionTtlHours * 3_600_000;
    const expiresAt = Date.now() + ttl;
    const { id, token } = await ctx.users.issueToken(user.id, 'session', 'sign-in', expiresAt);
    reply.header('Set-Cookie', sessionCookies(token, Math.floor(ttl / 1000), secure));
    await ctx.audit.record({ action: 'login', actor: { id: user.id, name: user.name }, sourceIp, result: 'success', resource: { type: 'session', id, ownerId: user.id } });
    const res: LoginResponse = { token, expiresAt: new Date(expiresAt).toISOString(), user: { id: user.id, name: user.name, role: user.role } };
    return res;
  });

  app.post('/api/v1/auth/logout', async (req, reply) => {
    const header = req.headers.authorization;
    const token = header ? /^(?:bearer|token)\s+(\S+)$/i.exec(header.trim())?.[1] : readCookie(req.headers.cookie, SESSION_COOKIE);
    // Only session tokens end with a sign-out; an API token is revoked with DELETE /tokens/{id}.
    if (token?.startsWith('nbg_s_')) await ctx.users.revokeToken(token);
    reply.header('Set-Cookie', clearedSessionCookies(secure));
    reply.code(204);
  });

  app.get('/api/v1/me', async (req, reply) => {
    const p = await principalOf(ctx, req);
    if (p.via === 'cookie') {
      // Sessions from before `_xsrf` existed, or a cleared cookie: hand it out again.
      const token = readCookie(req.headers.cookie, SESSION_COOKIE)!;
      reply.header('Set-Cookie', sessionCookies(token, ctx.config.sessionTtlHours * 3600, secure)[1]!);
    }
    return { id: p.userId, name: p.name, role: p.role, via: p.via, scope: p.scope ?? null };
  });

  app.post('/api/v1/auth/password', async (req, reply) => {
    const p = await principalOf(ctx, req);
    requireUnscoped(p, 'changing the password');
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body.currentPassword !== 'string' || typeof body.newPassword !== 'string') {
      throw Errors.VALIDATION('send {"currentPassword": "...", "newPassword": "..."}');
    }
    const problem = passwordProblem(body.newPassword);
    if (problem) throw Errors.VALIDATION(`"newPassword" ${problem}`);
    const sourceIp = sourceIpOf(req.raw, ctx.config.trustProxy);
    const claim = await ctx.loginLimiter.claim(p.name, sourceIp);
    if ('retryAfter' in claim) {
      reply.header('Retry-After', String(claim.retryAfter));
      throw Errors.RATE_LIMITED(claim.retryAfter, { retryAfterSeconds: claim.retryAfter });
    }
    const user = await ctx.users.byName(p.name);
    if (!user || !(await verifyPassword(body.currentPassword, user.passwordHash))) {
      // Counted like a failed sign-in (the claim stays): a stolen session must not become a
      // password oracle.
      await ctx.audit.record({ action: 'changePassword', actor: actorOf(p), sourceIp, result: 'failure', resource: { type: 'user', id: p.userId, name: p.name, ownerId: p.userId }, details: { code: 'NB_ERR_PASSWORD_WRONG' } });
      throw Errors.PASSWORD_WRONG();
    }
    await ctx.loginLimiter.succeeded(p.name, claim.attempt);
    await ctx.users.update(p.userId, { passwordHash: await hashPassword(body.newPassword) });
    // Other browsers and CLIs signed in with the old password are signed out.
    const revoked = await ctx.users.revokeAllTokens(p.userId, { kind: 'session', ...(p.tokenId ? { exceptId: p.tokenId } : {}) });
    await ctx.audit.record({ action: 'changePassword', actor: actorOf(p), sourceIp, result: 'success', resource: { type: 'user', id: p.userId, name: p.name, ownerId: p.userId }, details: { sessionsRevoked: revoked } });
    reply.code(204);
  });
}
