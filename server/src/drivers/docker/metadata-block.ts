/**
 * Keeps instances away from the cloud's instance-metadata service (169.254.169.254): on a
 * cloud VM it hands out the host's own role credentials to whoever asks, and code in a
 * notebook is whoever. Docker's NAT would let every container ask, so the gateway puts one
 * rule in Docker's `DOCKER-USER` chain (the chain dockerd leaves to the administrator and
 * evaluates before its own): packets from the per-user network pool to that address are
 * rejected. Zero to JupyterHub blocks it by default for the same reason.
 *
 * #### Notes
 * - Idempotent (`iptables -C` first), kept after the gateway stops: it only ever protects.
 * - Where the gateway cannot change the host's firewall (no iptables, no CAP_NET_ADMIN: the
 *   gateway in a container), it says so once at start with the rule to add by hand.
 */
import { execFile } from 'node:child_process';
import type { Logger } from '../../logger';

export const METADATA_ADDRESS = '169.254.169.254/32';

/** The `iptables` arguments of the rule after the operation (`-C`, `-I`, `-D`). */
export function metadataRule(pool: string): string[] {
  return ['DOCKER-USER', '-s', pool, '-d', METADATA_ADDRESS, '-j', 'REJECT', '-m', 'comment', '--comment', 'nbgateway: no cloud metadata for instances'];
}

function iptables(args: readonly string[]): Promise<{ ok: boolean; message: string }> {
  return new Promise(resolve => {
    execFile('iptables', ['-w', '5', ...args], { timeout: 15_000 }, (err, _stdout, stderr) => resolve({ ok: !err, message: (stderr || err?.message || '').trim() }));
  });
}

/** @returns whether the rule is in place. */
export async function blockCloudMetadata(pool: string, log: Logger): Promise<boolean> {
  const rule = metadataRule(pool);
  if ((await iptables(['-C', ...rule])).ok) return true;
  const added = await iptables(['-I', ...rule]);
  if (added.ok) {
    log.info({ pool, address: METADATA_ADDRESS }, 'instances cannot reach the cloud metadata service (DOCKER-USER rule added)');
    return true;
  }
  log.warn(
    { pool, reason: added.message, rule: `iptables -I ${rule.map(a => (/\s/.test(a) ? `"${a}"` : a)).join(' ')}` },
    'cannot add the firewall rule that keeps instances from the cloud metadata service; add it on the Docker host'
  );
  return false;
}
