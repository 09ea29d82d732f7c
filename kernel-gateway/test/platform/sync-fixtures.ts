/**
 * Storage access for agent tests: the embedded store under a temporary directory, alice's
 * root, and the OBS path of an instance named nb1.
 */
import type { StorageAccess } from '../../../server/src/storage/access';

export const OBS_PATH = 'users/alice/notebooks/nb1/';

export function fsAccess(dir: string, over: Partial<StorageAccess> = {}): StorageAccess {
  return {
    kind: 'fs', dir, bucket: 'nbg-users', root: 'users/alice/', obsPath: OBS_PATH, defaultPrefix: 'notebooks/nb1/',
    syncLimits: { maxFiles: 1024, maxWorkBytes: 500 * 1024 * 1024 }, ...over
  } as StorageAccess;
}
