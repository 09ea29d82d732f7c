/**
 * Which GPUs / NPUs of this host an instance gets. Docker's `Count` always hands out the first
 * N GPUs, so two instances would share GPU 0; instead we give each instance distinct device
 * indexes, found from the devices on the host and the labels of running containers.
 *
 * #### Notes
 * - GPUs are discovered as `/dev/nvidia<n>`, Ascend NPUs as `/dev/davinci<n>`. When no GPU
 *   device node is visible (e.g. the gateway runs without /dev access) GPU requests fall back
 *   to Docker's `Count` and the NVIDIA runtime's choice.
 * - An instance keeps its devices across restarts when they are still free; otherwise it gets
 *   others (the driver then recreates its container, keeping the writable layer).
 */
import { readdir } from 'node:fs/promises';
import type { Flavor } from '../../catalogue/flavors';
import { SpawnError } from '../driver';
import type { AcceleratorAssignment } from './container-spec';

/** Devices in use: instance id → device ids, for one chip. */
export type DevicesInUse = ReadonlyMap<string, readonly string[]>;

/**
 * Picks devices for an instance (pure).
 * @param host - device indexes present on the host for the flavor's chip.
 * @param inUse - devices held by other running instances.
 * @param previous - what the instance had before, kept when still free.
 * @throws SpawnError (503, no-capacity) when not enough devices are free.
 */
export function assignAccelerators(flavor: Flavor, instanceId: string, host: readonly string[], inUse: DevicesInUse, previous: readonly string[] = []): AcceleratorAssignment {
  if (flavor.chip === 'cpu' || flavor.accelerators === 0) return { chip: 'cpu', ids: [], count: 0 };
  const count = flavor.accelerators;
  if (flavor.chip === 'gpu' && host.length === 0) return { chip: 'gpu', ids: [], count };
  const kind = flavor.chip === 'gpu' ? 'GPU' : 'Ascend NPU';
  if (host.length < count) {
    throw new SpawnError(`flavor ${flavor.id} needs ${count} ${kind}(s) but this host has ${host.length}`, { reason: 'no-capacity', status: 503 });
  }
  const taken = new Set<string>();
  for (const [id, devices] of inUse) if (id !== instanceId) for (const d of devices) taken.add(d);
  if (previous.length === count && previous.every(d => host.includes(d) && !taken.has(d))) return { chip: flavor.chip, ids: [...previous], count };
  const free = host.filter(d => !taken.has(d));
  if (free.length < count) {
    throw new SpawnError(`all ${kind}s of this host are in use (${free.length} of ${host.length} free, ${count} needed); try again later`, { reason: 'no-capacity', status: 503 });
  }
  return { chip: flavor.chip, ids: free.slice(0, count), count };
}

/** Device indexes of a chip on this host, from /dev. */
export async function hostDevices(chip: 'gpu' | 'ascend', devDir = '/dev'): Promise<string[]> {
  const re = chip === 'gpu' ? /^nvidia(\d+)$/ : /^davinci(\d+)$/;
  let names: string[];
  try {
    names = await readdir(devDir);
  } catch {
    return [];
  }
  return names.map(n => re.exec(n)?.[1]).filter((x): x is string => x !== undefined).sort((a, b) => Number(a) - Number(b));
}

/** Parses the `nbgateway.accelerators` label (`gpu:0,1`) into device ids for a chip. */
export function devicesFromLabel(label: string | undefined, chip: 'gpu' | 'ascend'): string[] {
  if (!label?.startsWith(`${chip}:`)) return [];
  const rest = label.slice(chip.length + 1);
  return rest.startsWith('count=') ? [] : rest.split(',').filter(Boolean);
}
