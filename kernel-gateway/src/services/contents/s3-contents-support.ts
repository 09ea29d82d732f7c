/**
 * Helpers of the `obs` contents provider: object-store errors in Jupyter's dialect, checkpoint
 * keys, and file bytes as contents models carry them.
 */
import { posix } from 'node:path';
import { JupyterError } from '../../errors';
import { AccessDeniedError, NoSuchBucketError, ObjectNotFoundError, type IMultipartObjectStore, type ObjectInfo } from '../../../../server/src/storage/object-store';
import { CHECKPOINT_DIR, CHECKPOINT_ID } from './fs-checkpoints';

/** A store, its bucket and the OBS path every key of the instance starts with. */
export interface ObsCtx {
  store: IMultipartObjectStore;
  bucket: string;
  base: string;
}


/** The checkpoint key of a file (relative to the OBS path). */
export function checkpointPath(api: string): string {
  const dir = posix.dirname(api);
  const name = posix.basename(api);
  const ext = posix.extname(name);
  const cp = `${CHECKPOINT_DIR}/${name.slice(0, name.length - ext.length)}-${CHECKPOINT_ID}${ext}`;
  return dir === '.' ? cp : `${dir}/${cp}`;
}

export async function headOrNull(c: ObsCtx, key: string): Promise<ObjectInfo | null> {
  try {
    return await c.store.head(c.bucket, key);
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return null;
    throw err;
  }
}

/** Maps object-store errors to Jupyter's: missing → 404, refused → 403, unreachable → 503. */
export async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof JupyterError) throw err;
    if (err instanceof ObjectNotFoundError) throw new JupyterError(404, `file or directory does not exist: "${err.key}"`);
    if (err instanceof AccessDeniedError) throw new JupyterError(403, err.message);
    if (err instanceof NoSuchBucketError) throw new JupyterError(503, `${err.message}; ask an administrator to create it`, 'storage-unavailable');
    const code = (err as NodeJS.ErrnoException)?.code;
    if (code === 'ECONNREFUSED' || code === 'ETIMEDOUT' || code === 'ENOTFOUND' || code === 'ECONNRESET') {
      throw new JupyterError(503, `object storage did not answer (${code}); try again`, 'storage-unavailable');
    }
    throw err;
  }
}
