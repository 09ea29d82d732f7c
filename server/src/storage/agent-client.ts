/**
 * The gateway's calls to an instance agent's sync endpoints (`<base>api/nbg/sync/*`, the
 * contract in docs/architecture.md), and the mapping of the agent's refusals (Jupyter dialect
 * plus `details`) to the gateway's error catalogue.
 */
import { Errors, HttpError } from '../errors';
import type { Endpoint } from '../drivers/driver';
import { instanceBaseUrl } from '../instances/manager';

/** Where an instance's agent listens and the token it wants. */
export interface AgentTarget {
  instanceId: string;
  endpoint: Endpoint;
  agentToken: string;
}

/** One sync as the agent reports it. */
export interface SyncJobWire {
  id: string;
  kind: 'obs' | 'push' | 'pull';
  state: 'planned' | 'running' | 'succeeded' | 'failed' | 'canceled';
  /** Remote prefix, relative to the owner's storage root. */
  prefix: string;
  /** `~/work` sub-path. */
  path: string;
  createdAt: string;
  finishedAt: string | null;
  plan: Record<string, number>;
  progress: Record<string, unknown>;
  failures: { path: string; error: string }[];
  error: string | null;
}

/**
 * Sends a request to the agent's sync API.
 * @throws HttpError from the catalogue: the agent's refusals keep their meaning; an agent that
 *   does not answer is INSTANCE_UNREACHABLE.
 */
export async function agentSync<T>(target: AgentTarget, method: string, path: string, body?: unknown, timeoutMs = 60_000): Promise<{ status: number; body: T }> {
  const host = target.endpoint.host.includes(':') ? `[${target.endpoint.host}]` : target.endpoint.host;
  const url = `http://${host}:${target.endpoint.port}${instanceBaseUrl(target.instanceId)}api/nbg/sync/${path}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { Authorization: `token ${target.agentToken}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs)
    });
  } catch (err) {
    throw Errors.INSTANCE_UNREACHABLE(((err as Error).cause as Error)?.message ?? (err as Error).message);
  }
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON: handled below */
  }
  if (res.ok) return { status: res.status, body: parsed as T };
  throw fromAgentError(res.status, parsed as { message?: string; reason?: string; details?: Record<string, unknown> } | null);
}

/** The catalogue error for an agent's refusal. */
export function fromAgentError(status: number, body: { message?: string; reason?: string; details?: Record<string, unknown> } | null): HttpError {
  const message = body?.message ?? `the agent answered ${status}`;
  const details = body?.details ?? {};
  switch (body?.reason) {
    case 'sync-limit': return Errors.SYNC_LIMIT(message, details);
    case 'sync-delete-guard': return Errors.SYNC_DELETE_GUARD(message, details);
    case 'sync-busy': return Errors.SYNC_BUSY(String(details.jobId ?? 'unknown'), details);
    case 'sync-not-found': return Errors.SYNC_NOT_FOUND(String(details.jobId ?? ''));
    case 'storage-unavailable': return Errors.STORAGE_UNAVAILABLE(message);
    case 'storage-path': return Errors.STORAGE_PATH_INVALID(message);
    default:
      if (status === 404) return Errors.INSTANCE_UNREACHABLE(`the agent has no sync API (${message}); restart the instance to update its agent`);
      if (status >= 400 && status < 500) return Errors.VALIDATION(message);
      return Errors.INSTANCE_UNREACHABLE(message);
  }
}
