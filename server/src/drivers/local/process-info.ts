/**
 * Process identity on Linux: a pid plus its start time (field 22 of /proc/<pid>/stat), so a
 * recycled pid is never mistaken for our process.
 */
import { readFile } from 'node:fs/promises';

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
