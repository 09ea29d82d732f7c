/**
 * `/api/v1/users`: user management for administrators, per-user access policies (SPEC §9)
 * and invite-only flavor grants (SPEC §2) (openapi.yaml). Users may read themselves.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Errors } from '../errors';
import type { Principal, Role } from '../auth/principal';
import type { UserRecord } from '../auth/user-store';
import { hashPassword, passwordProblem } from '../auth/passwords';
import { actorOf, sourceIpOf, type AuditAction, type AuditResource } from '../audit/audit';
import { validatePolicy } from '../policy/validate';
import type { FlavorGrantInfo, Page, UserInfo } from './types';
import { parsePaging } from './paging';
import { principalOf, type ApiContext } from './context';
import { requireAdmin, requireUnscoped } from './guards';

/** Lower-case, POSIX-like: names appear in URLs, logs and SSH user names. */
export const USER_NAME = /^[a-z_][a-z0-9_.-]{0,31}$/;
const USER_NAME_RULE = '1–32 characters: lower-case letters, digits, "_", "." and "-", not starting with a digit, "." or "-"';

export function toUserWire(u: UserRecord): UserInfo {
  return { id: u.id, name: u.name, role: u.role, disabled: u.disabled, createdAt: new Date(u.createdAt).toISOString() };
}

export function registerUserRoutes(app: FastifyInstance, ctx: ApiContext): void {
  /** The user named by `:user` (id or name); users may name only themselves. */
  const target = async (req: FastifyRequest, p: Principal, adminOnly: string | null): Promise<UserRecord> => {
    if (adminOnly) requireAdmin(p, adminOnly);
    else requireUnscoped(p, 'reading users');
    const ref = (req.params as { user: string }).user;
    const u = (await ctx.users.byId(ref)) ?? (await ctx.users.byName(ref));
    // Non-admins cannot tell other users from missing ones.
    if (!u || (p.role !== 'admin' && u.id !== p.userId)) throw Errors.USER_NOT_FOUND(ref);
    return u;
  };
  const record = (req: FastifyRequest, p: Principal, action: AuditAction, resource: AuditResource, ok: boolean, details?: Record<string, unknown>): Promise<void> =>
    ctx.audit.record({ action, actor: actorOf(p), sourceIp: sourceIpOf(req.raw, ctx.config.trustProxy), resource, result: ok ? 'success' : 'failure', ...(details ? { details } : {}) });
  const userRes = (u: Pick<UserRecord, 'id' | 'name'>): AuditResource => ({ type: 'user', id: u.id, name: u.name, ownerId: u.id });

  app.get('/api/v1/users', async req => {
    const p = await principalOf(ctx, req);
    requireAdmin(p, 'list users');
    const paging = parsePaging(req.query as Record<string, unknown>);
    const all = await ctx.users.list();
    const page: Page<UserInfo> = { items: all.slice(paging.offset, paging.offset + paging.limit).map(toUserWire), total: all.length, ...paging };
    return page;
  });

  app.post('/api/v1/users', async (req, reply) => {
    const p = await principalOf(ctx, req);
    requireAdmin(p, 'create users');
    const body = validateCreateUser(req.body);
    if (await ctx.users.byName(body.name)) throw Errors.USER_EXISTS(body.name);
    let u: UserRecord;
    try {
      u = await ctx.users.create(body.name, body.role, await hashPassword(body.password));
    } catch (err) {
      // Lost a race with another create of the same name (unique index).
      if (await ctx.users.byName(body.name)) throw Errors.USER_EXISTS(body.name);
      throw err;
    }
    await record(req, p, 'createUser', userRes(u), true, { role: u.role });
    reply.code(201).header('Location', `/api/v1/users/${u.id}`);
    return toUserWire(u);
  });

  app.get('/api/v1/users/:user', async req => {
    const p = await principalOf(ctx, req);
    return toUserWire(await target(req, p, null));
  });

  app.patch('/api/v1/users/:user', async req => {
    const p = await principalOf(ctx, req);
    const u = await target(req, p, 'change users');
    const body = validateUpdateUser(req.body);
    const losesAdmin = u.role === 'admin' && !u.disabled && (body.role === 'user' || body.disabled === true);
    if (losesAdmin && (await ctx.users.enabledAdmins()).length <= 1) throw Errors.LAST_ADMIN(u.name);
    await ctx.users.update(u.id, {
      ...(body.role !== undefined ? { role: body.role } : {}),
      ...(body.disabled !== undefined ? { disabled: body.disabled } : {}),
      ...(body.password !== undefined ? { passwordHash: await hashPassword(body.password) } : {})
    });
    // A disabled user is signed out everywhere; a reset password ends their sessions.
    if (body.disabled === true) await ctx.users.revokeAllTokens(u.id);
    else if (body.password !== undefined) await ctx.users.revokeAllTokens(u.id, { kind: 'session' });
    await record(req, p, 'updateUser', userRes(u), true, { fields: Object.keys(body) });
    return toUserWire((await ctx.users.byId(u.id))!);
  });

  // ---- access policy -------------------------------------------------------------------------

  app.get('/api/v1/users/:user/policy', async req => {
    const p = await principalOf(ctx, req);
    const u = await target(req, p, null);
    const doc = await ctx.policies.get(u.id);
    return {
      statements: doc?.statements ?? [],
      updatedAt: doc ? new Date(doc.updatedAt).toISOString() : null,
      // What applies in the end, role included, so people need not know the built-ins.
      effective: await ctx.access.statementsFor({ userId: u.id, role: u.role })
    };
  });

  app.put('/api/v1/users/:user/policy', async req => {
    const p = await principalOf(ctx, req);
    const u = await target(req, p, 'set access policies');
    const doc = validatePolicy(req.body);
    await ctx.policies.set(u.id, doc, p.userId);
    await record(req, p, 'setPolicy', userRes(u), true, { statements: doc.statements.length });
    return { statements: doc.statements, updatedAt: new Date().toISOString(), effective: await ctx.access.statementsFor({ userId: u.id, role: u.role }) };
  });

  app.delete('/api/v1/users/:user/policy', async (req, reply) => {
    const p = await principalOf(ctx, req);
    const u = await target(req, p, 'remove access policies');
    await ctx.policies.set(u.id, { statements: [] }, p.userId);
    await record(req, p, 'setPolicy', userRes(u), true, { statements: 0 });
    reply.code(204);
  });

  // ---- invite-only flavor grants -------------------------------------------------------------

  app.get('/api/v1/users/:user/flavor-grants', async req => {
    const p = await principalOf(ctx, req);
    const u = await target(req, p, null);
    const items: FlavorGrantInfo[] = (await ctx.grants.list(u.id)).map(g => ({ flavor: g.flavor, grantedBy: g.grantedBy, grantedAt: new Date(g.grantedAt).toISOString() }));
    return { items };
  });

  app.put('/api/v1/users/:user/flavor-grants/:flavor', async (req, reply) => {
    const p = await principalOf(ctx, req);
    const u = await target(req, p, 'grant flavors');
    const flavorId = (req.params as { flavor: string }).flavor;
    const flavor = ctx.config.flavors.find(f => f.id === flavorId);
    if (!flavor) throw Errors.FLAVOR_NOT_FOUND(flavorId, ctx.config.flavors.map(f => f.id).join(', '));
    if (!flavor.inviteOnly) {
      throw Errors.VALIDATION(`flavor "${flavorId}" is not invite-only, so everyone may use it; invite-only: ${ctx.config.flavors.filter(f => f.inviteOnly).map(f => f.id).join(', ') || 'none'}`);
    }
    const created = await ctx.grants.grant(u.id, flavorId, p.userId);
    if (created) await record(req, p, 'grantFlavor', userRes(u), true, { flavor: flavorId });
    reply.code(created ? 201 : 200);
    const g = (await ctx.grants.list(u.id)).find(x => x.flavor === flavorId)!;
    const res: FlavorGrantInfo = { flavor: g.flavor, grantedBy: g.grantedBy, grantedAt: new Date(g.grantedAt).toISOString() };
    return res;
  });

  app.delete('/api/v1/users/:user/flavor-grants/:flavor', async (req, reply) => {
    const p = await principalOf(ctx, req);
    const u = await target(req, p, 'revoke flavor grants');
    const flavorId = (req.params as { flavor: string }).flavor;
    const removed = await ctx.grants.revoke(u.id, flavorId);
    if (removed) await record(req, p, 'revokeFlavor', userRes(u), true, { flavor: flavorId });
    // Idempotent, like DELETE elsewhere: running instances keep their flavor until stopped.
    reply.code(204);
  });
}

function obj(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw Errors.VALIDATION('request body must be a JSON object');
  return body as Record<string, unknown>;
}

function onlyKnown(o: Record<string, unknown>, known: readonly string[]): void {
  const extra = Object.keys(o).filter(k => !known.includes(k));
  if (extra.length) throw Errors.VALIDATION(`unknown field(s) ${extra.join(', ')}; allowed: ${known.join(', ')}`);
}

function role(v: unknown): Role {
  if (v !== 'admin' && v !== 'user') throw Errors.VALIDATION('"role" must be "admin" or "user"');
  return v;
}

function password(v: unknown): string {
  if (typeof v !== 'string') throw Errors.VALIDATION('"password" must be a string');
  const problem = passwordProblem(v);
  if (problem) throw Errors.VALIDATION(`"password" ${problem}`);
  return v;
}

function validateCreateUser(body: unknown): { name: string; password: string; role: Role } {
  const o = obj(body);
  onlyKnown(o, ['name', 'password', 'role']);
  if (typeof o.name !== 'string' || !USER_NAME.test(o.name)) throw Errors.VALIDATION(`"name" must be ${USER_NAME_RULE}`);
  return { name: o.name, password: password(o.password), role: o.role === undefined ? 'user' : role(o.role) };
}

function validateUpdateUser(body: unknown): { role?: Role; disabled?: boolean; password?: string } {
  const o = obj(body);
  onlyKnown(o, ['role', 'disabled', 'password']);
  const out: { role?: Role; disabled?: boolean; password?: string } = {};
  if (o.role !== undefined) out.role = role(o.role);
  if (o.disabled !== undefined) {
    if (typeof o.disabled !== 'boolean') throw Errors.VALIDATION('"disabled" must be true or false');
    out.disabled = o.disabled;
  }
  if (o.password !== undefined) out.password = password(o.password);
  if (!Object.keys(out).length) throw Errors.VALIDATION('nothing to change: send "role", "disabled" and/or "password"');
  return out;
}
