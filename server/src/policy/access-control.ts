/**
 * AccessControl: the one place that decides whether a principal may do an action on a
 * resource (SPEC §9). REST handlers, the proxy, WebSocket upgrades and the SSH gateway all
 * ask it, directly or through `InstanceManager`.
 *
 * #### Notes
 * Order: tenancy (another user's resource → the caller's 404, for non-admins), then the
 * token's scope, then the statements: the role's built-in ones plus the user's policy;
 * an explicit Deny wins, then an Allow, otherwise denied.
 */
import { Errors, type HttpError } from '../errors';
import type { Principal } from '../auth/principal';
import type { UserStore } from '../auth/user-store';
import { evaluate } from './evaluate';
import { globMatch, resourceName, type PolicyStatement, type ResourceRef } from './policy';
import type { PolicyStore } from './policy-store';
import type { FlavorGrantStore } from './flavor-grants';

/** Built-in roles (SPEC §9): admin may do everything; user may use every service on own resources. */
export const ROLE_STATEMENTS: Readonly<Record<Principal['role'], readonly PolicyStatement[]>> = {
  admin: [{ effect: 'Allow', actions: ['*'], description: 'built-in role admin' }],
  user: [{ effect: 'Allow', actions: ['notebook:*', 'trainJob:*', 'image:*'], description: 'built-in role user (own resources only)' }]
};

export interface AccessControlOptions {
  policies: PolicyStore;
  grants: FlavorGrantStore;
  users: UserStore;
}

export class AccessControl {
  constructor(private readonly _o: AccessControlOptions) {}

  /**
   * Throws unless the principal may do `action` (e.g. `notebook:delete`) on `resource`.
   * @param notFound - the 404 to throw for another tenant's resource (default: by service).
   * @throws the 404, TOKEN_SCOPE or ACCESS_DENIED.
   */
  async authorize(p: Principal, action: string, resource?: ResourceRef, notFound?: () => HttpError): Promise<void> {
    if (resource?.ownerId !== undefined && p.role !== 'admin' && resource.ownerId !== p.userId) {
      throw notFound ? notFound() : notFoundFor(resource);
    }
    if (p.scope && !p.scope.some(s => globMatch(s, action))) throw Errors.TOKEN_SCOPE(p.scope.join(', '), action);
    const decision = evaluate(await this.statementsFor(p), action, resource);
    if (decision.allowed) return;
    const what = resource ? `${action} on ${resourceName(resource)}` : action;
    throw Errors.ACCESS_DENIED(
      decision.by
        ? `Your access policy denies ${what}${decision.by.description ? ` (${decision.by.description})` : ''}; ask an administrator`
        : `No policy allows ${what}; ask an administrator`,
      { action, ...(resource ? { resource: resourceName(resource) } : {}) }
    );
  }

  /** Like `authorize`, as a boolean (for filtering lists, showing buttons). */
  async isAllowed(p: Principal, action: string, resource?: ResourceRef): Promise<boolean> {
    try {
      await this.authorize(p, action, resource);
      return true;
    } catch {
      return false;
    }
  }

  /** The statements that apply to a principal: role first, then the user's policy. */
  async statementsFor(p: Pick<Principal, 'userId' | 'role'>): Promise<PolicyStatement[]> {
    const own = await this._o.policies.get(p.userId);
    return [...ROLE_STATEMENTS[p.role], ...(own?.statements ?? [])];
  }

  /** The principal with its invite-only flavor grants loaded (for create and update). */
  async withFlavorGrants(p: Principal): Promise<Principal> {
    if (p.role === 'admin') return p;
    return { ...p, flavorGrants: await this._o.grants.flavorsOf(p.userId) };
  }

  /**
   * The principal of a user who authenticated outside HTTP (an SSH key), or undefined when
   * the user does not exist or is disabled.
   */
  async principalFor(userId: string): Promise<Principal | undefined> {
    const u = await this._o.users.byId(userId);
    if (!u || u.disabled) return undefined;
    return { userId: u.id, name: u.name, role: u.role, via: 'ssh' };
  }
}

function notFoundFor(r: ResourceRef): HttpError {
  return r.service === 'notebook' ? Errors.INSTANCE_NOT_FOUND(r.id) : Errors.NOT_FOUND('resource', `${r.service} ${r.id}`);
}
