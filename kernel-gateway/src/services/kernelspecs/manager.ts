/**
 * Kernelspec discovery from the standard Jupyter data directories, in jupyter_core's order:
 * `JUPYTER_PATH` entries, the user's data dir, then the system prefixes
 * (https://docs.jupyter.org/en/latest/use/jupyter-directories.html#data-files).
 * The first directory that defines a kernel name wins.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The content of a `kernel.json`. */
export interface KernelSpecFile {
  argv: string[];
  display_name: string;
  language: string;
  interrupt_mode?: 'signal' | 'message';
  env?: Record<string, string>;
  metadata?: Record<string, unknown>;
}

/** A discovered kernelspec with the directory its resources live in. */
export interface KernelSpecEntry {
  name: string;
  dir: string;
  spec: KernelSpecFile;
  /** Resource file names (logos, kernel.js) in `dir`. */
  resources: string[];
}

const RESOURCE_FILES = /^(logo-(32x32|64x64|svg)\.(png|svg)|logo-svg\.svg|kernel\.js|kernel\.css)$/;

/** The search path: extra roots first, then user, then system. */
export function kernelSpecDirs(extra: readonly string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const dataHome = env.XDG_DATA_HOME || join(env.HOME || homedir(), '.local', 'share');
  const roots = [
    ...extra,
    ...(env.JUPYTER_DATA_DIR ? [env.JUPYTER_DATA_DIR] : [join(dataHome, 'jupyter')]),
    '/usr/local/share/jupyter',
    '/usr/share/jupyter'
  ];
  return [...new Set(roots)].map(r => join(r, 'kernels'));
}

export class KernelSpecManager {
  private _cache: { at: number; specs: Map<string, KernelSpecEntry> } | null = null;

  /**
   * @param dirs - `kernels` directories to scan, highest priority first.
   * @param cacheMs - how long a scan is reused; kernels installed later show up after this.
   */
  constructor(
    private readonly _dirs: readonly string[],
    private readonly _cacheMs = 2_000
  ) {}

  /** All specs by name. */
  async all(): Promise<Map<string, KernelSpecEntry>> {
    if (this._cache && Date.now() - this._cache.at < this._cacheMs) return this._cache.specs;
    const specs = new Map<string, KernelSpecEntry>();
    for (const dir of this._dirs) {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        continue;
      }
      for (const name of names.sort()) {
        if (specs.has(name) || !/^[a-zA-Z0-9._-]+$/.test(name)) continue;
        const entry = await readSpec(join(dir, name), name);
        if (entry) specs.set(name, entry);
      }
    }
    this._cache = { at: Date.now(), specs };
    return specs;
  }

  async get(name: string): Promise<KernelSpecEntry | undefined> {
    return (await this.all()).get(name);
  }

  /** The default kernel: `python3` when present, else the first by name. */
  async defaultName(): Promise<string | undefined> {
    const all = await this.all();
    if (all.has('python3')) return 'python3';
    return [...all.keys()].sort()[0];
  }
}

async function readSpec(dir: string, name: string): Promise<KernelSpecEntry | null> {
  try {
    const spec = JSON.parse(await readFile(join(dir, 'kernel.json'), 'utf8')) as KernelSpecFile;
    if (!Array.isArray(spec.argv) || spec.argv.length === 0 || typeof spec.display_name !== 'string') return null;
    const files = await readdir(dir);
    const resources: string[] = [];
    for (const f of files) {
      if (RESOURCE_FILES.test(f) && (await stat(join(dir, f))).isFile()) resources.push(f);
    }
    return { name, dir, spec, resources };
  } catch {
    return null;
  }
}
