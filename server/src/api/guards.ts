/**
 * Route guards for the control plane's own endpoints (users, tokens, passwords), which are
 * not SPEC §9 actions: they need a full credential, and some need an administrator.
 */
import { Errors } from '../errors';
import type { Principal } from '../auth/principal';

/** Scoped API tokens cannot manage credentials, users or policies. */
export function requireUnscoped(p: Principal, what: string): void {
  if (p.scope) throw Errors.TOKEN_SCOPE(p.scope.join(', '), what);
}

export function requireAdmin(p: Principal, what: string): void {
  requireUnscoped(p, what);
  if (p.role !== 'admin') throw Errors.ACCESS_DENIED(`Only administrators can ${what}`);
}
