/**
 * `GET <base>api/nbg/activity`: the activity feed the gateway's idle auto-stop polls
 * (contract in docs/architecture.md, "Activity feed"). Reading it is not activity.
 */
import type { RouteTables } from '../../http/server';
import { sendJson } from '../../http/respond';
import type { ActivityTracker } from './tracker';

/** A kernel as the feed reports it. */
export interface KernelActivity {
  id: string;
  name: string;
  execution_state: string;
  last_activity: string;
  connections: number;
}

/** A terminal as the feed reports it. */
export interface TerminalActivity {
  name: string;
  last_activity: string;
}

/** Where the feed reads kernels and terminals from. */
export interface ActivitySnapshot {
  kernels(): KernelActivity[];
  terminals(): TerminalActivity[];
}

/** The feed's body. */
export interface ActivityFeed {
  now: string;
  last_activity: string;
  busy: boolean;
  connections: number;
  kernels: KernelActivity[];
  terminals: TerminalActivity[];
}

/** Builds the feed from the tracker and the current kernels and terminals. */
export function activityFeed(tracker: ActivityTracker, snapshot: ActivitySnapshot): ActivityFeed {
  const kernels = snapshot.kernels().map(({ id, name, execution_state, last_activity, connections }) => ({
    id, name, execution_state, last_activity, connections
  }));
  const terminals = snapshot.terminals().map(({ name, last_activity }) => ({ name, last_activity }));
  return {
    now: new Date().toISOString(),
    last_activity: tracker.lastActivity.toISOString(),
    busy: tracker.busy() || kernels.some(k => k.execution_state === 'busy'),
    connections: tracker.connections(),
    kernels,
    terminals
  };
}

export function registerActivityRoutes({ http }: RouteTables, tracker: ActivityTracker, snapshot: ActivitySnapshot): void {
  http.get('api/nbg/activity', (_req, res) => sendJson(res, 200, activityFeed(tracker, snapshot)), { activity: 'passive' });
}
