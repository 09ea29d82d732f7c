/**
 * Process inspection for leak checks: which processes mention a string in their command line.
 */
import { readdir, readFile } from 'node:fs/promises';

export interface ProcInfo {
  pid: number;
  cmdline: string;
  environ?: string;
}

/** Live (non-zombie) processes whose command line contains `needle`. */
export async function processesMatching(needle: string): Promise<ProcInfo[]> {
  const out: ProcInfo[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = (await readFile(`/proc/${name}/cmdline`, 'utf8')).replaceAll('\0', ' ');
      if (!cmdline.includes(needle)) continue;
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      out.push({ pid: Number(name), cmdline });
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/** True when the process exists and is not a zombie. */
export async function isAlive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}
