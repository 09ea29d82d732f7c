/**
 * Moving files between object storage (through the gateway) and a task's working
 * directory: the code and data before the run, the outputs after it.
 */
import { lstat, mkdir, readdir } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import type { InputKind, Manifest } from './protocol';
import type { AgentClient } from './agent-client';

const PARALLEL = 4;

export interface TransferStats {
  files: number;
  bytes: number;
}

/** Runs `fn` over `items`, at most `limit` at a time; the first failure rejects. */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** `dir/rel` when `rel` stays inside `dir`; throws otherwise (a manifest is never trusted to escape). */
export function inside(dir: string, rel: string): string {
  const abs = resolve(dir, rel);
  if (abs !== dir && !abs.startsWith(dir.endsWith(sep) ? dir : dir + sep)) throw new Error(`refusing a path outside ${dir}: ${rel}`);
  return abs;
}

/** Downloads the code directory or the data into `dest`. */
export async function downloadInput(client: AgentClient, kind: InputKind, dest: string): Promise<TransferStats> {
  const manifest = await client.json<Manifest>('GET', `/inputs/${kind}`);
  await mkdir(dest, { recursive: true });
  await eachLimited(manifest.files, PARALLEL, async f => {
    await client.download(`/inputs/${kind}/file?path=${encodeURIComponent(f.path)}`, inside(dest, f.path));
  });
  return { files: manifest.files.length, bytes: manifest.files.reduce((n, f) => n + f.size, 0) };
}

/** Every regular file under `dir`, as paths relative to it with `/` separators. Symbolic links are skipped. */
export async function listFiles(dir: string): Promise<{ path: string; abs: string; size: number }[]> {
  const out: { path: string; abs: string; size: number }[] = [];
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const abs = join(d, e.name);
      if (e.isDirectory()) await walk(abs);
      else if (e.isFile()) out.push({ path: relative(dir, abs).split(sep).join('/'), abs, size: (await lstat(abs)).size });
    }
  };
  await walk(dir);
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

/** Uploads everything under `dir` to the version's output location. */
export async function uploadOutputs(client: AgentClient, dir: string): Promise<TransferStats> {
  const files = await listFiles(dir);
  await eachLimited(files, PARALLEL, async f => {
    await client.upload(`/outputs/file?path=${encodeURIComponent(f.path)}`, f.abs);
  });
  return { files: files.length, bytes: files.reduce((n, f) => n + f.size, 0) };
}
