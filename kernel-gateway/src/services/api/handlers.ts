/**
 * `/api` (version), `/api/status` and `/api/me` (jupyter_server api.yaml `/`, `/status`,
 * `/me`; `services/api/handlers.py`).
 */
import type { RouteTables } from '../../http/server';
import { sendJson } from '../../http/respond';
import { badRequest } from '../../errors';
import type { ActivityTracker } from '../../platform/activity/tracker';
import type { KernelManager } from '../kernels/manager';

/** The jupyter_server version we are compatible with, reported at `/api`. */
export const COMPATIBLE_SERVER_VERSION = '2.14.0';

/** Who `/api/me` says the user is. */
export interface Identity {
  username: string;
}

export function registerApiRoutes({ http }: RouteTables, kernels: KernelManager, activity: ActivityTracker, identity: Identity): void {
  http.get('api', (_req, res) => sendJson(res, 200, { version: COMPATIBLE_SERVER_VERSION }));

  // Monitoring reads this on a timer; like jupyter_server, it does not count as activity.
  http.get('api/status', (_req, res) =>
    sendJson(res, 200, {
      started: activity.started.toISOString(),
      last_activity: activity.lastActivity.toISOString(),
      connections: activity.connections(),
      kernels: kernels.size
    })
  );

  // The token holder owns the instance: every permission asked about is granted.
  http.get('api/me', (_req, res, _params, url) => {
    const asked = parsePermissions(url.searchParams.get('permissions'));
    const name = identity.username;
    sendJson(res, 200, {
      identity: { username: name, name, display_name: name, initials: initials(name), avatar_url: null, color: null },
      permissions: asked
    });
  });
}

function parsePermissions(raw: string | null): Record<string, string[]> {
  if (!raw) return {};
  const bad = `permissions should be a JSON dict of {"resource": ["action", …]}, got ${JSON.stringify(raw)}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw badRequest(bad);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw badRequest(bad);
  for (const actions of Object.values(parsed)) {
    if (!Array.isArray(actions) || !actions.every(a => typeof a === 'string')) throw badRequest(bad);
  }
  return parsed as Record<string, string[]>;
}

function initials(name: string): string {
  const parts = name.split(/[\s._-]+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0]![0]! + parts[1]![0]! : name.slice(0, 2);
  return letters.toUpperCase();
}
