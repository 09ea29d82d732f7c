/**
 * What the adapters share: reading task logs by byte range (so clients can follow a log
 * while it grows), small JSON records, atomic writes, and the launcher's environment.
 */
import { execFile } from 'node:child_process';
import { access, open, readFile, rename, writeFile } from 'node:fs/promises';
import type { LogChunk } from './scheduler';

/** Largest slice returned by one read. */
export const MAX_LOG_CHUNK = 1 << 20;

/**
 * Reads `[offset, offset + limit)` of a log file. A missing file reads as empty. The slice
 * ends on a UTF-8 character boundary, so a multi-byte character is never split across reads.
 */
export async function readLogChunk(file: string, offset = 0, limit = MAX_LOG_CHUNK): Promise<LogChunk> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch {
    return { text: '', nextOffset: offset, size: 0 };
  }
  try {
    const { size } = await fh.stat();
    const start = Math.min(Math.max(0, offset), size);
    const want = Math.min(Math.max(0, limit), MAX_LOG_CHUNK, size - start);
    const buf = Buffer.alloc(want);
    const { bytesRead } = want > 0 ? await fh.read(buf, 0, want, start) : { bytesRead: 0 };
    let end = bytesRead;
    // Back off over a trailing partial UTF-8 sequence (continuation bytes are 10xxxxxx).
    if (end > 0 && start + end < size) {
      let i = end - 1;
      while (i > 0 && end - i < 4 && (buf[i]! & 0xc0) === 0x80) i--;
      const lead = buf[i]!;
      const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
      if (end - i < need) end = i;
    }
    return { text: buf.subarray(0, end).toString('utf8'), nextOffset: start + end, size };
  } finally {
    await fh.close();
  }
}

/** A JSON file's content, or null when it is missing or unreadable. */
export async function readJson<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

export async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/** Writes a file atomically (a reader sees the old or the new content, never half). */
export async function writeAtomic(file: string, content: string, mode = 0o644): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, content, { mode });
  await rename(tmp, file);
}

/** The environment a launcher (or a Slurm command) inherits: ours, minus the gateway's own settings and secrets. */
export function launcherEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('NBG_')) delete env[k];
  return env;
}

function docker(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('docker', [...args], { timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error((stderr || err.message).trim())) : resolve(stdout)));
  });
}

/**
 * Removes the containers and network of a version run as containers (label
 * `nbgateway.job=<id>`), for when its launchers could not stop them (killed). Idempotent.
 */
export async function removeJobContainers(versionId: string): Promise<void> {
  const filter = `label=nbgateway.job=${versionId}`;
  const ids = (await docker(['ps', '-aq', '--filter', filter]).catch(() => '')).split('\n').filter(Boolean);
  if (ids.length) await docker(['rm', '-f', ...ids]).catch(() => undefined);
  const nets = (await docker(['network', 'ls', '-q', '--filter', filter]).catch(() => '')).split('\n').filter(Boolean);
  for (const n of nets) await docker(['network', 'rm', n]).catch(() => undefined);
}
