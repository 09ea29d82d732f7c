/**
 * Atomic file replacement: write a temporary file next to the target, fsync it, rename it
 * over the target. A crash or a full disk mid-write leaves the old file intact, never a
 * truncated one (jupyter_server's `atomic_writing`, without its copy-back step).
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';

/** The temporary name used while writing `target` (hidden, and never listed). */
export function tempPathFor(target: string, tag = 'tmp'): string {
  return join(dirname(target), `.~${basename(target)}.${tag}-${randomBytes(4).toString('hex')}`);
}

/**
 * Replaces `target` with `data` atomically, keeping the target's permission bits.
 * @param target - a real path (symlinks already resolved by the caller).
 */
export async function writeAtomic(target: string, data: Buffer | string | Readable): Promise<void> {
  // New files get 0666 minus the umask from open(2); existing ones keep their bits.
  const existing = await stat(target).then(s => s.mode & 0o7777, () => null);
  const tmp = tempPathFor(target);
  let fh: FileHandle | null = null;
  try {
    fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, existing ?? 0o666);
    if (typeof data === 'string' || Buffer.isBuffer(data)) {
      await fh.writeFile(data);
    } else {
      for await (const chunk of data) await fh.write(chunk as Buffer);
    }
    await fh.sync();
    if (existing !== null) await fh.chmod(existing);
    await fh.close();
    fh = null;
    await rename(tmp, target);
  } catch (err) {
    await fh?.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
}
