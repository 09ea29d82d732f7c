/**
 * Process identity on Linux: a pid plus its start time (field 22 of /proc/<pid>/stat), so a
 * recycled pid is never mistaken for our process.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';

export interface ProcessIdentity {
  pid: number;
  startTime: string;
}

/** @returns the start time and state letter, or null when the process does not exist. */
export async function readStat(pid: number): Promise<{ startTime: string; state: string } | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0]!, startTime: rest[19]! };
  } catch {
    return null;
  }
}

/** True when this exact process is alive (not gone, not a zombie, not a recycled pid). */
export async function isAlive(id: ProcessIdentity): Promise<boolean> {
  const s = await readStat(id.pid);
  return s !== null && s.startTime === id.startTime && s.state !== 'Z' && s.state !== 'X';
}

/**
 * Live processes with `arg` as one of their command-line arguments (exactly), e.g. an
 * instance's port file: how an agent is found when no pid was recorded for it.
 */
export async function processesWithArg(arg: string): Promise<ProcessIdentity[]> {
  const out: ProcessIdentity[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const args = (await readFile(`/proc/${name}/cmdline`, 'utf8')).split('\0');
      if (!args.includes(arg)) continue;
      const s = await readStat(Number(name));
      if (s && s.state !== 'Z' && s.state !== 'X') out.push({ pid: Number(name), startTime: s.startTime });
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/**
 * Live processes whose working directory is `dir` and whose command line contains `needle`:
 * how a process is found when the gateway died before recording its pid.
 */
export async function processesInDir(dir: string, needle: string): Promise<ProcessIdentity[]> {
  const out: ProcessIdentity[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if ((await readlink(`/proc/${name}/cwd`)) !== dir) continue;
      if (!(await readFile(`/proc/${name}/cmdline`, 'utf8')).includes(needle)) continue;
      const s = await readStat(Number(name));
      if (s && s.state !== 'Z' && s.state !== 'X') out.push({ pid: Number(name), startTime: s.startTime });
    } catch {
      /* exited meanwhile, or not ours to read */
    }
  }
  return out;
}
