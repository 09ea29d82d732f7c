/**
 * The audit trail (SPEC §9): who did what to which resource, from where, and whether it
 * worked. Records are kept `auditRetentionDays` (7 by default) and queried by admins (all)
 * and users (their own actions and what the system did to their resources).
 *
 * #### Notes
 * The event names are the SPEC's exact ones (ModelArts CTS names) plus a few control-plane
 * events in the same style. Other areas record through `IAuditLog.record()` only; see
 * docs/architecture.md "Contracts between areas".
 */
import type { IncomingMessage } from 'node:http';
import type { Principal } from '../auth/principal';

/** SPEC §9 names first (exact), then control-plane events. */
export const AUDIT_ACTIONS = [
  'createNotebook',
  'deleteNotebook',
  'openNotebook',
  'startNotebook',
  'stopNotebook',
  'updateNotebook',
  'createModelArtsTrainJob',
  'stopModelArtsTrainVersion',
  'deleteModelArtsTrainJob',
  'createImage',
  // Control plane: sign-in, credentials, users, access control, leases.
  'login',
  'changePassword',
  'createToken',
  'revokeToken',
  'createUser',
  'updateUser',
  'setPolicy',
  'grantFlavor',
  'revokeFlavor',
  'renewNotebookLease',
  // SSH (issue 6): connections are `openNotebook` with details.via = 'ssh'.
  'disconnectNotebook',
  'createSshKey',
  'deleteSshKey'
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export const AUDIT_RESOURCE_TYPES = ['notebook', 'trainJob', 'image', 'user', 'token', 'session', 'sshKey'] as const;
export type AuditResourceType = (typeof AUDIT_RESOURCE_TYPES)[number];

/** Who acted: a user, or the system (idle/lease stops, reconciliation). */
export interface AuditActor {
  /** User id; null for the system. */
  id: string | null;
  name: string;
}

/** The actor of actions the gateway takes by itself. */
export const SYSTEM_ACTOR: AuditActor = Object.freeze({ id: null, name: 'system' });

export interface AuditResource {
  type: AuditResourceType;
  /** The resource's id; '' when the action failed before one existed. */
  id: string;
  name?: string;
  /** The owning user's id, so owners see what happened to their resources. */
  ownerId?: string | null;
}

export type AuditResult = 'success' | 'failure';

/** What a caller records. */
export interface AuditEvent {
  action: AuditAction;
  actor: AuditActor;
  /** The client's address; null for system actions. */
  sourceIp: string | null;
  resource: AuditResource;
  result: AuditResult;
  /** Small, secret-free context: an error code, a reason, changed fields. */
  details?: Record<string, unknown>;
}

/** A stored record, as the query API returns it. */
export interface AuditRecord {
  id: string;
  time: string;
  action: AuditAction;
  actor: AuditActor;
  sourceIp: string | null;
  resource: { type: AuditResourceType; id: string; name: string | null; ownerId: string | null };
  result: AuditResult;
  details: Record<string, unknown> | null;
}

export interface AuditQuery {
  actions?: readonly AuditAction[];
  actorId?: string;
  actorName?: string;
  resourceType?: AuditResourceType;
  resourceId?: string;
  result?: AuditResult;
  /** Epoch ms, inclusive. */
  since?: number;
  /** Epoch ms, exclusive. */
  until?: number;
  /** Restricts to records this user acted in or whose resource they own (non-admins). */
  visibleTo?: string;
  limit: number;
  offset: number;
}

/** The audit seam: the SQL log, or the in-memory one for tests of other modules. */
export interface IAuditLog {
  /**
   * Appends a record. Never throws: a failure to write is logged as an error, so an audit
   * outage does not fail the user's operation.
   */
  record(event: AuditEvent): Promise<void>;
  query(q: AuditQuery): Promise<{ items: AuditRecord[]; total: number }>;
  /** Deletes records older than the retention period. @returns how many. */
  purgeExpired(): Promise<number>;
  dispose(): Promise<void>;
}

/** The actor of a request's principal. */
export function actorOf(p: Pick<Principal, 'userId' | 'name'>): AuditActor {
  return { id: p.userId, name: p.name };
}

/**
 * The client's address for audit and rate limits.
 * @param trustProxy - take the first `X-Forwarded-For` hop (behind a reverse proxy only).
 */
export function sourceIpOf(req: IncomingMessage, trustProxy = false): string | null {
  if (trustProxy) {
    const xff = req.headers['x-forwarded-for'];
    const first = (Array.isArray(xff) ? xff[0] : xff)?.split(',')[0]?.trim();
    if (first) return first;
  }
  const addr = req.socket.remoteAddress ?? null;
  // IPv4 clients of a dual-stack listener appear as ::ffff:a.b.c.d.
  return addr?.startsWith('::ffff:') ? addr.slice(7) : addr;
}
