/**
 * Driving `POST /api/v1/notebooks/{id}/sync` from tests, and listing what landed in a bucket:
 * shared by the object-storage suites (local-process and Docker runtimes).
 */
import { listAll, type IObjectStore } from '../../server/src/storage/object-store';
import { waitFor, type GatewayProcess } from './gateway-process';

/** A sync job as the API reports it. */
export interface SyncJob {
  id: string;
  state: string;
  plan: Record<string, number>;
  progress: Record<string, number>;
  failures: unknown[];
  error: string | null;
}

/** Starts a sync; anything but 202 throws with the answer. */
export async function startSync(gw: GatewayProcess, id: string, body: unknown, token: string): Promise<SyncJob> {
  const res = await gw.api(`/api/v1/notebooks/${id}/sync`, { method: 'POST', token, json: body });
  const json = (await res.json()) as SyncJob & { message?: string };
  if (res.status !== 202) throw new Error(`sync refused: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Waits until the sync job is no longer running. */
export function syncFinished(gw: GatewayProcess, id: string, job: SyncJob, token: string, timeoutMs = 180_000): Promise<SyncJob> {
  return waitFor(async () => {
    const j = (await (await gw.api(`/api/v1/notebooks/${id}/sync/${job.id}`, { token })).json()) as SyncJob;
    return j.state === 'running' ? null : j;
  }, `sync ${job.id}`, timeoutMs, 200);
}

/** Every key under a prefix, sorted. */
export async function keysUnder(store: IObjectStore, bucket: string, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of listAll(store, bucket, prefix)) out.push(o.key);
  return out.sort();
}
