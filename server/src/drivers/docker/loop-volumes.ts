/**
 * Per-instance `~/work` volumes whose size limit the kernel enforces: each volume is a sparse
 * file holding an ext4 filesystem of exactly the requested size, loop-mounted on the host and
 * bind-mounted into the container. Writing past it fails with ENOSPC ("No space left on
 * device") inside the container, whatever the user does.
 *
 * #### Notes
 * - Why not a Docker named volume: the `local` driver has no size limit on ext4/overlay hosts,
 *   and its `device` option would pin a loop device number that changes after a reboot.
 *   XFS project quotas need the data dir on XFS mounted with `prjquota`; a loop file works on
 *   any filesystem, as root, with only e2fsprogs and util-linux.
 * - Files are sparse: a 500 GB volume costs what is written. The host disk must have room for
 *   what users write (monitor it); `df` inside the instance shows the volume's own size.
 * - `mkfs` runs on a temporary name and is renamed into place, so a crash never leaves a
 *   half-made filesystem under the real name. The inode tables of a fresh sparse file read as
 *   zeros, so mounting with `noinit_itable` is safe and avoids zeroing gigabytes in the background.
 * - The mount point is mode 000 while nothing is mounted on it: a container started outside the
 *   gateway (without the volume) cannot write to the host disk through it.
 * - Stopping an instance unmounts its volume (a stopped instance holds no loop device);
 *   starting mounts it again.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, open, readFile, rename, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '../../logger';
import { SpawnError } from '../driver';

const execFileP = promisify(execFile);

/** Where volumes live, their unit, and who owns their root. */
export interface LoopVolumesOptions {
  /** Where volume files (`<id>.ext4`) and mount points (`mnt/<id>`) live. */
  dir: string;
  /** MiB per GB of requested size: 1024 in production; tests shrink it to write past a limit quickly. */
  unitMiB: number;
  /** Owner of the filesystem root: the container user. */
  uid: number;
  gid: number;
  log: Logger;
}

/** Creates, mounts, unmounts and purges the instances' `~/work` volumes. */
export class LoopVolumes {
  constructor(private readonly _o: LoopVolumesOptions) {}

  /** The volume file and mount point of an instance. */
  paths(id: string): { file: string; mount: string } {
    return { file: join(this._o.dir, `${id}.ext4`), mount: join(this._o.dir, 'mnt', id) };
  }

  /**
   * Creates the instance's volume when it does not exist and mounts it.
   * @returns the host path to bind-mount at `~/work`.
   * @throws SpawnError when the filesystem cannot be made or mounted.
   */
  async ensure(id: string, sizeGB: number): Promise<string> {
    const { file, mount } = this.paths(id);
    await mkdir(join(this._o.dir, 'mnt'), { recursive: true, mode: 0o700 });
    let fresh = false;
    if (!(await exists(file))) {
      await this._create(file, sizeGB);
      fresh = true;
    }
    if (!(await this.isMounted(mount))) {
      await mkdir(mount, { recursive: true });
      await chmod(mount, 0o000);
      try {
        await execFileP('mount', ['-t', 'ext4', '-o', 'loop,noatime,nodev,nosuid,noinit_itable', file, mount]);
      } catch (err) {
        throw new SpawnError(`cannot mount the ~/work volume: ${stderrOf(err)}`, { reason: 'storage' });
      }
      // A clean ~/work: e2fsck recreates lost+found if it ever needs it.
      if (fresh) await rmdir(join(mount, 'lost+found')).catch(() => undefined);
      this._o.log.debug({ instance: id, file }, 'volume mounted');
    }
    return mount;
  }

  /** Unmounts the instance's volume; the file stays. Idempotent. */
  async unmount(id: string): Promise<void> {
    const { mount } = this.paths(id);
    if (!(await this.isMounted(mount))) return;
    try {
      await execFileP('umount', [mount]);
    } catch (err) {
      // Still busy (a process outside the gateway has it open): detach now, free when released.
      this._o.log.warn({ instance: id, err: stderrOf(err) }, 'volume busy; detaching it lazily');
      await execFileP('umount', ['-l', mount]);
    }
  }

  /** Removes the volume for good (after the retention period). Idempotent. */
  async purge(id: string): Promise<void> {
    const { file, mount } = this.paths(id);
    await this.unmount(id);
    await rm(mount, { recursive: true, force: true });
    await rm(file, { force: true });
  }

  /** Whether a volume file exists for the instance (kept after delete until purged). */
  async has(id: string): Promise<boolean> {
    return exists(this.paths(id).file);
  }

  /** Whether something is mounted exactly at `path` (from this process's mount table). */
  async isMounted(path: string): Promise<boolean> {
    const table = await readFile('/proc/self/mountinfo', 'utf8');
    for (const line of table.split('\n')) {
      const mountPoint = line.split(' ')[4];
      if (mountPoint !== undefined && unescapeMount(mountPoint) === path) return true;
    }
    return false;
  }

  private async _create(file: string, sizeGB: number): Promise<void> {
    const tmp = `${file}.tmp-${process.pid}`;
    const bytes = sizeGB * this._o.unitMiB * 1024 * 1024;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.truncate(bytes);
    } finally {
      await fh.close();
    }
    try {
      // -m 0: no blocks reserved for root (the user is not root); lazy init: nothing to zero.
      await execFileP('mkfs.ext4', [
        '-q', '-F', '-m', '0', '-L', 'nbg-work',
        '-E', `root_owner=${this._o.uid}:${this._o.gid},lazy_itable_init=1,lazy_journal_init=1,nodiscard`,
        tmp
      ]);
      await rename(tmp, file);
    } catch (err) {
      await rm(tmp, { force: true });
      throw new SpawnError(`cannot create the ~/work volume of ${sizeGB} GB: ${stderrOf(err)}`, { reason: 'storage' });
    }
    this._o.log.info({ file, sizeGB }, 'volume created');
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

function stderrOf(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  return (e.stderr || e.message || String(err)).trim();
}
