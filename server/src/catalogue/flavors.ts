/**
 * Flavors (SPEC §2): named resource shapes. They are configuration; these are the defaults.
 */

export type Chip = 'cpu' | 'gpu' | 'ascend';

export interface Flavor {
  id: string;
  chip: Chip;
  cpus: number;
  memoryGiB: number;
  /** Accelerators (GPUs or NPUs); 0 for CPU flavors. */
  accelerators: number;
  /** Needs an administrator's grant to use. */
  inviteOnly: boolean;
  /** Used when a create request names no flavor (per chip). */
  default?: boolean;
  description: string;
}

export const DEFAULT_FLAVORS: readonly Flavor[] = Object.freeze([
  { id: 'cpu.2u8g', chip: 'cpu', cpus: 2, memoryGiB: 8, accelerators: 0, inviteOnly: false, default: true, description: '2 vCPU, 8 GiB' },
  { id: 'cpu.8u32g', chip: 'cpu', cpus: 8, memoryGiB: 32, accelerators: 0, inviteOnly: false, description: '8 vCPU, 32 GiB' },
  { id: 'gpu.1x', chip: 'gpu', cpus: 8, memoryGiB: 64, accelerators: 1, inviteOnly: false, default: true, description: '8 vCPU, 64 GiB, 1 GPU' },
  { id: 'gpu.2x', chip: 'gpu', cpus: 16, memoryGiB: 128, accelerators: 2, inviteOnly: true, description: '16 vCPU, 128 GiB, 2 GPUs (invite-only)' },
  { id: 'gpu.4x', chip: 'gpu', cpus: 32, memoryGiB: 256, accelerators: 4, inviteOnly: true, description: '32 vCPU, 256 GiB, 4 GPUs (invite-only)' },
  { id: 'ascend.1x', chip: 'ascend', cpus: 24, memoryGiB: 96, accelerators: 1, inviteOnly: false, default: true, description: '24 vCPU, 96 GiB, 1 Ascend NPU' }
] satisfies Flavor[]);

const CHIPS: readonly Chip[] = ['cpu', 'gpu', 'ascend'];

/**
 * Validates flavors from a config file.
 * @throws Error naming the bad entry and field.
 */
export function parseFlavors(raw: unknown): Flavor[] {
  if (!Array.isArray(raw) || raw.length === 0) throw new Error('"flavors" must be a non-empty array');
  const seen = new Set<string>();
  return raw.map((f, i) => {
    const where = `flavors[${i}]`;
    if (f === null || typeof f !== 'object') throw new Error(`${where} must be an object`);
    const o = f as Record<string, unknown>;
    if (typeof o.id !== 'string' || !/^[a-z0-9][a-z0-9._-]{0,63}$/.test(o.id)) throw new Error(`${where}.id must match [a-z0-9][a-z0-9._-]{0,63}`);
    if (seen.has(o.id)) throw new Error(`${where}.id "${o.id}" is repeated`);
    seen.add(o.id);
    if (!CHIPS.includes(o.chip as Chip)) throw new Error(`${where}.chip must be one of ${CHIPS.join(', ')}`);
    for (const k of ['cpus', 'memoryGiB'] as const) {
      if (typeof o[k] !== 'number' || !((o[k] as number) > 0)) throw new Error(`${where}.${k} must be a positive number`);
    }
    const accelerators = o.accelerators ?? 0;
    if (typeof accelerators !== 'number' || !Number.isInteger(accelerators) || accelerators < 0) {
      throw new Error(`${where}.accelerators must be a non-negative integer`);
    }
    if (o.chip !== 'cpu' && accelerators < 1) throw new Error(`${where}: a ${String(o.chip)} flavor needs accelerators ≥ 1`);
    return {
      id: o.id,
      chip: o.chip as Chip,
      cpus: o.cpus as number,
      memoryGiB: o.memoryGiB as number,
      accelerators,
      inviteOnly: o.inviteOnly === true,
      default: o.default === true,
      description: typeof o.description === 'string' ? o.description : ''
    };
  });
}

/** The default flavor for a chip: the one marked default, else the first of that chip. */
export function defaultFlavorFor(flavors: readonly Flavor[], chip: Chip): Flavor | undefined {
  return flavors.find(f => f.chip === chip && f.default) ?? flavors.find(f => f.chip === chip);
}
