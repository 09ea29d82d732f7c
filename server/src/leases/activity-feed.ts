/**
 * Reads an instance agent's activity feed, `GET <base>api/nbg/activity` (contract in
 * docs/architecture.md "Activity feed"), with the agent's own token.
 */
import type { InstanceRecord } from '../instances/instance';

export interface FeedReading {
  /** Work in progress (a busy kernel, even a silent one). */
  busy: boolean;
  /** Latest activity, converted to this gateway's clock. */
  lastActivity: number;
}

/** `unavailable`: the agent has no feed (an older agent); `unreachable`: no answer now. */
export type FeedResult = FeedReading | 'unavailable' | 'unreachable';

export type ActivityFeedReader = (rec: Pick<InstanceRecord, 'id' | 'endpoint' | 'agentToken'>) => Promise<FeedResult>;

/**
 * The HTTP reader.
 * @param timeoutMs - a slow agent counts as unreachable for this round.
 */
export function httpFeedReader(timeoutMs = 5_000): ActivityFeedReader {
  return async rec => {
    if (!rec.endpoint) return 'unreachable';
    const url = `http://${rec.endpoint.host}:${rec.endpoint.port}/notebooks/${rec.id}/api/nbg/activity`;
    let res: Response;
    try {
      res = await fetch(url, { headers: { Authorization: `token ${rec.agentToken}` }, signal: AbortSignal.timeout(timeoutMs) });
    } catch {
      return 'unreachable';
    }
    if (res.status === 404) {
      await res.body?.cancel();
      return 'unavailable';
    }
    if (!res.ok) {
      await res.body?.cancel();
      return 'unreachable';
    }
    try {
      const body = (await res.json()) as { now?: string; last_activity?: string; busy?: boolean };
      const agentNow = Date.parse(body.now ?? '');
      const agentLast = Date.parse(body.last_activity ?? '');
      if (!Number.isFinite(agentNow) || !Number.isFinite(agentLast)) return 'unreachable';
      // The agent's clock may differ from ours (another host): keep only its "how long ago".
      return { busy: body.busy === true, lastActivity: Date.now() - Math.max(0, agentNow - agentLast) };
    } catch {
      return 'unreachable';
    }
  };
}
