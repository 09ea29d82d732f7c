/**
 * The local-process runtime keeps instances running when the gateway stops (as a gateway
 * restart should), so a suite stops its instances before it stops its gateway: no agent or
 * kernel outlives the test run.
 */
import type { GatewayProcess } from '../utils/gateway-process';
import { waitFor } from '../utils/gateway-process';

interface Listed {
  id: string;
  status: string;
  allowedOperations: string[];
}

/** Stops every instance of the gateway (as its admin) and waits until none is running. */
export async function stopAllInstances(gw: GatewayProcess, timeoutMs = 60_000): Promise<void> {
  const list = async (): Promise<Listed[]> => {
    const res = await gw.api('/api/v1/notebooks?all=true&limit=200', { token: gw.adminToken });
    return res.ok ? ((await res.json()) as { items: Listed[] }).items : [];
  };
  for (const i of await list()) {
    if (i.allowedOperations.includes('stop')) await gw.api(`/api/v1/notebooks/${i.id}/stop`, { method: 'POST', token: gw.adminToken });
  }
  await waitFor(async () => (await list()).every(i => ['STOPPED', 'ERROR'].includes(i.status)), 'every instance stopped', timeoutMs, 250);
}
