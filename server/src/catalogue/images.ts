/**
 * The image catalogue (SPEC §3): preset engine images from `images/catalogue.json`.
 */
import { readFileSync } from 'node:fs';
import type { Chip } from './flavors';

export interface ImageEntry {
  /** `<engine><version>-<chip stack>-<os>` for presets; `<name>:<tag>` for custom images. */
  name: string;
  engine: string;
  engineVersion: string;
  chips: Chip[];
  ssh: boolean;
  jupyterlab: boolean;
  description: string;
  /** Docker image reference the runtime starts (presets: `nbgateway/<name>:latest`). */
  ref: string;
  build?: { context: string; requiresBase?: string };
  /** Owner's user id for custom images; absent for presets. */
  ownerId?: string;
}

/** SPEC §3: `<engine><version>-<chip stack>-<os>`, e.g. `pytorch1.13-cpu-debian12`. */
export const PRESET_NAME = /^[a-z][a-z0-9]*\d+(\.\d+)*(-[a-z][a-z0-9]*\d*(\.\d+)*)*-(cpu|cuda\d+(\.\d+)*|cann\d+(\.\d+)*)(-[a-z]+\d+(\.\d+)*)?$/;

/** The Docker repository preset images are tagged under. */
export const PRESET_REPOSITORY = 'nbgateway';

/**
 * Loads and validates the catalogue file.
 * @throws Error naming the entry and field that is wrong.
 */
export function loadCatalogue(file: string): ImageEntry[] {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as { images?: unknown };
  if (!Array.isArray(raw.images)) throw new Error(`${file}: "images" must be an array`);
  const seen = new Set<string>();
  return raw.images.map((img, i) => {
    const where = `${file}: images[${i}]`;
    const o = img as Record<string, unknown>;
    if (typeof o.name !== 'string' || !PRESET_NAME.test(o.name)) {
      throw new Error(`${where}.name must follow <engine><version>-<chip stack>-<os> (e.g. pytorch1.13-cpu-debian12), got ${JSON.stringify(o.name)}`);
    }
    if (seen.has(o.name)) throw new Error(`${where}.name "${o.name}" is repeated`);
    seen.add(o.name);
    for (const k of ['engine', 'engineVersion', 'description'] as const) {
      if (typeof o[k] !== 'string' || !o[k]) throw new Error(`${where}.${k} must be a non-empty string`);
    }
    const chips = o.chips;
    if (!Array.isArray(chips) || chips.length === 0 || !chips.every(c => c === 'cpu' || c === 'gpu' || c === 'ascend')) {
      throw new Error(`${where}.chips must be a non-empty array of cpu, gpu, ascend`);
    }
    for (const k of ['ssh', 'jupyterlab'] as const) {
      if (typeof o[k] !== 'boolean') throw new Error(`${where}.${k} must be true or false`);
    }
    const build = o.build as { context?: unknown; requiresBase?: unknown } | undefined;
    if (!build || typeof build.context !== 'string') throw new Error(`${where}.build.context must name a directory under images/`);
    return {
      name: o.name,
      engine: o.engine as string,
      engineVersion: o.engineVersion as string,
      chips: chips as Chip[],
      ssh: o.ssh as boolean,
      jupyterlab: o.jupyterlab as boolean,
      description: o.description as string,
      ref: `${PRESET_REPOSITORY}/${o.name}:latest`,
      build: { context: build.context, ...(typeof build.requiresBase === 'string' ? { requiresBase: build.requiresBase } : {}) }
    };
  });
}
