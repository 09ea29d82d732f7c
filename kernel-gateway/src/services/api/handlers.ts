/**
 * `/api` (version) and `/api/status` (jupyter_server api.yaml `/`, `/status`).
 */
import type { Router } from '../../http/router';
import { sendJson } from '../../http/respond';
import type { KernelManager } from '../kernels/manager';

/** The jupyter_server version we are compatible with, reported at `/api`. */
export const COMPATIBLE_SERVER_VERSION = '2.14.0';

export interface StatusSource {
  started: Date;
  lastActivity(): Date;
  connections(): number;
}

export function registerApiRoutes(router: Router, kernels: KernelManager, status: StatusSource): void {
  router.get('api', (_req, res) => sendJson(res, 200, { version: COMPATIBLE_SERVER_VERSION }));
  router.get('api/status', (_req, res) =>
    sendJson(res, 200, {
      started: status.started.toISOString(),
      last_activity: status.lastActivity().toISOString(),
      connections: status.connections(),
      kernels: kernels.size
    })
  );
}
