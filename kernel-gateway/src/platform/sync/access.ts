/**
 * The agent's object-storage access: what the gateway pushed (`PUT api/nbg/sync/access`), held
 * in memory only, and the store built from it.
 *
 * #### Notes
 * - Renewed keys replace the old ones in place: the S3 client asks for keys through a
 *   provider, so transfers in flight carry on.
 * - A push that would replace keys with ones expiring sooner (an older replica's) is ignored.
 * - Users of the store wait a bounded time for the first push (the gateway sends it right
 *   after the instance starts), then get a 503 saying why.
 */
import { JupyterError } from '../../errors';
import type { Logger } from '../../logger';
import { describeAccess, keysOf, storeForAccess, type StorageAccess } from '../../../../server/src/storage/access';
import type { IMultipartObjectStore } from '../../../../server/src/storage/object-store';

export class StorageAccessHolder {
  private _access: StorageAccess | null = null;
  private _store: Promise<IMultipartObjectStore> | null = null;
  private _waiters: (() => void)[] = [];
  private _disposed = false;

  constructor(private readonly _log: Logger, private readonly _opts: { waitMs: number; partSize?: number } = { waitMs: 15_000 }) {}

  get access(): StorageAccess | null {
    return this._access;
  }

  /** Installs a pushed access (already validated). */
  set(next: StorageAccess): void {
    const prev = this._access;
    if (prev && prev.kind === 's3' && next.kind === 's3' && sameStore(prev, next) && prev.expiration && next.expiration && Date.parse(next.expiration) < Date.parse(prev.expiration)) {
      return;
    }
    this._access = next;
    if (!prev || !sameStore(prev, next)) {
      const old = this._store;
      this._store = storeForAccess(next, () => keysOf(this._access as Extract<StorageAccess, { kind: 's3' }>), this._opts.partSize ? { partSize: this._opts.partSize } : {});
      this._store.catch(err => this._log.error('cannot load the object store', { err }));
      // Transfers holding the old store finish with it; give them time before closing it.
      if (old) setTimeout(() => void old.then(s => s.dispose(), () => undefined), 10 * 60_000).unref();
    }
    this._log.info('storage access received', describeAccess(next));
    for (const w of this._waiters.splice(0)) w();
  }

  /**
   * The store and access, waiting for the first push.
   * @throws 503 when none arrived in time.
   */
  async get(): Promise<{ store: IMultipartObjectStore; access: StorageAccess }> {
    if (!this._access) {
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, this._opts.waitMs);
        timer.unref();
        this._waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    if (!this._access || !this._store) {
      throw new JupyterError(503, 'Object storage is not available yet: the gateway has not given this instance its storage access; try again in a few seconds', 'storage-unavailable');
    }
    return { store: await this._store, access: this._access };
  }

  async dispose(): Promise<void> {
    if (this._disposed) return;
    this._disposed = true;
    for (const w of this._waiters.splice(0)) w();
    await this._store?.then(s => s.dispose(), () => undefined);
  }
}

function sameStore(a: StorageAccess, b: StorageAccess): boolean {
  if (a.kind !== b.kind || a.bucket !== b.bucket) return false;
  if (a.kind === 'fs' && b.kind === 'fs') return a.dir === b.dir;
  if (a.kind === 's3' && b.kind === 's3') return a.endpoint === b.endpoint && a.region === b.region && a.forcePathStyle === b.forcePathStyle;
  return false;
}
