/**
 * `/api` (version) and `/api/status` (jupyter_server api.yaml `/`, `/status`).
 */
import type { RouteTables } from '../../http/server';
import { sendJson } from '../../http/respond';
import type { ActivityTracker } from '../../platform/activity/tracker';
import type { KernelManager } from '../kernels/manager';

/** The jupyter_server version we are compatible with, reported at `/api`. */
export const COMPATIBLE_SERVER_VERSION = '2.14.0';

export function registerApiRoutes({ http }: RouteTables, kernels: KernelManager, activity: ActivityTracker): void {
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
}
