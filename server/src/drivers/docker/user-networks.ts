/**
 * One Docker bridge network per user. Docker isolates bridge networks from each other
 * (its DOCKER-ISOLATION iptables chains drop traffic between bridges), so one user's instances
 * reach each other but never another user's. The gateway reaches each instance's agent at the
 * container's address on that network (the host routes to every bridge).
 *
 * #### Notes
 * - Subnets come from our own pool (default 10.213.0.0/16 in /26 blocks: 1024 users with up to
 *   61 instances each) because Docker's default pools hold only ~30 networks.
 * - A user's network is removed when no container of that user is left (delete), under a
 *   per-user lock so a concurrent start does not lose it.
 */
import type Docker from 'dockerode';
import type { Logger } from '../../logger';
import { SpawnError } from '../driver';

/** Naming, labels and the address pool of the per-user networks. */
export interface UserNetworksOptions {
  /** Name prefix of everything this gateway creates (`nbg-`). */
  prefix: string;
  /** Labels every network gets (managed-by, plus configured extras). */
  labels: Record<string, string>;
  /** CIDR pool and the prefix length of each user's block, e.g. `10.213.0.0/16` and 26. */
  pool: string;
  blockBits: number;
  log: Logger;
}

/** Creates and removes the per-user bridge networks. */
export class UserNetworks {
  private readonly _locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly _docker: Docker,
    private readonly _o: UserNetworksOptions
  ) {}

  nameFor(ownerId: string): string {
    return `${this._o.prefix}user-${ownerId}`;
  }

  /** Creates the user's network when missing. @returns its name. */
  ensure(ownerId: string): Promise<string> {
    return this._locked(ownerId, () => this._ensure(ownerId));
  }

  /** Removes the user's network when none of the user's containers is left. Idempotent. */
  releaseIfUnused(ownerId: string): Promise<void> {
    return this._locked(ownerId, async () => {
      const left = await this._docker.listContainers({
        all: true,
        filters: { label: [`nbgateway.owner=${ownerId}`, `nbgateway.managed-by=${this._o.prefix}`] }
      });
      if (left.length > 0) return;
      try {
        await this._docker.getNetwork(this.nameFor(ownerId)).remove();
        this._o.log.info({ owner: ownerId }, 'user network removed');
      } catch (err) {
        if (statusOf(err) !== 404) this._o.log.warn({ owner: ownerId, err: (err as Error).message }, 'cannot remove the user network');
      }
    });
  }

  private async _ensure(ownerId: string): Promise<string> {
    const name = this.nameFor(ownerId);
    if (await this._exists(name)) return name;
    const used = await this._usedSubnets();
    const blocks = subnetBlocks(this._o.pool, this._o.blockBits);
    const start = hashIndex(ownerId, blocks.length);
    for (let i = 0; i < blocks.length; i++) {
      const subnet = blocks[(start + i) % blocks.length]!;
      if (used.has(subnet)) continue;
      try {
        await this._docker.createNetwork({
          Name: name,
          Driver: 'bridge',
          CheckDuplicate: true,
          Labels: { ...this._o.labels, 'nbgateway.owner': ownerId },
          IPAM: { Driver: 'default', Config: [{ Subnet: subnet }] },
          Options: { 'com.docker.network.bridge.enable_icc': 'true', 'com.docker.network.bridge.enable_ip_masquerade': 'true' }
        });
        this._o.log.info({ owner: ownerId, subnet }, 'user network created');
        return name;
      } catch (err) {
        // Another gateway made it meanwhile, or the subnet overlaps one Docker knows: next.
        if (await this._exists(name)) return name;
        if (!/overlap|pool/i.test((err as Error).message)) throw new SpawnError(`cannot create the network of the instance's owner: ${(err as Error).message}`, { reason: 'network' });
      }
    }
    throw new SpawnError(`no free subnet left in ${this._o.pool} for another user network`, { reason: 'network', status: 503 });
  }

  private async _exists(name: string): Promise<boolean> {
    try {
      await this._docker.getNetwork(name).inspect();
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw err;
    }
  }

  private async _usedSubnets(): Promise<Set<string>> {
    const nets = await this._docker.listNetworks();
    const used = new Set<string>();
    for (const n of nets) for (const c of n.IPAM?.Config ?? []) if (c.Subnet) used.add(c.Subnet);
    return used;
  }

  private _locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this._locks.get(key) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(fn);
    this._locks.set(key, next);
    void next.finally(() => {
      if (this._locks.get(key) === next) this._locks.delete(key);
    }).catch(() => undefined);
    return next;
  }
}

/**
 * The blocks of a pool: `10.213.0.0/16` split into /26 → `10.213.0.0/26`, `10.213.0.64/26`, ….
 * @throws Error when the pool is not an IPv4 CIDR or the block is larger than the pool.
 */
export function subnetBlocks(pool: string, blockBits: number): string[] {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(pool);
  if (!m) throw new Error(`network pool must be an IPv4 CIDR such as 10.213.0.0/16, got "${pool}"`);
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (octets.some(o => o > 255) || bits > blockBits || blockBits > 30) throw new Error(`cannot split ${pool} into /${blockBits} blocks`);
  const base = (((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0) & (bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0);
  const count = 2 ** (blockBits - bits);
  const size = 2 ** (32 - blockBits);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const a = (base + i * size) >>> 0;
    out.push(`${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/${blockBits}`);
  }
  return out;
}

function hashIndex(s: string, n: number): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h % n;
}

/** The HTTP status of a dockerode error (404 missing, 304 not modified, 409 conflict). */
export function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number }).statusCode;
}
