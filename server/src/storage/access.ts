/**
 * What an instance's agent is given to reach object storage: where the store is, the owner's
 * root (the only prefix it may use), the instance's OBS path in `obs` storage mode, and keys
 * scoped to that root where the store allows. The gateway pushes it to the agent
 * (`PUT <base>api/nbg/sync/access`) when the instance starts and before the keys expire; it is
 * kept in the agent's memory only, never in the environment, files or images.
 *
 * This module is shared by the gateway and the agent, so it imports nothing else.
 */
import type { IMultipartObjectStore } from './object-store';
import type { S3Credentials } from './s3-object-store';

interface AccessBase {
  bucket: string;
  /** The owner's root prefix: empty or ending in `/`. */
  root: string;
  /** The instance's OBS path in `obs` storage mode (under `root`), else null. */
  obsPath: string | null;
  /** Where push and pull go when no prefix is given (relative to `root`). */
  defaultPrefix: string;
  /** Sync OBS limits (SPEC §4). */
  syncLimits: { maxFiles: number; maxWorkBytes: number };
}

export interface S3Access extends AccessBase {
  kind: 's3';
  endpoint: string;
  region: string;
  forcePathStyle: boolean;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** ISO time the keys expire; absent for keys that do not. */
  expiration?: string;
}

export interface FsAccess extends AccessBase {
  kind: 'fs';
  /** Root directory of the embedded store (reachable from the instance). */
  dir: string;
}

export type StorageAccess = S3Access | FsAccess;

/** The parts of an access that are safe to show or log (no keys). */
export function describeAccess(a: StorageAccess): Record<string, unknown> {
  return {
    kind: a.kind, bucket: a.bucket, root: a.root, obsPath: a.obsPath, defaultPrefix: a.defaultPrefix, syncLimits: a.syncLimits,
    ...(a.kind === 's3' ? { endpoint: a.endpoint, expiration: a.expiration ?? null, scoped: a.sessionToken !== undefined } : {})
  };
}

/**
 * Checks a pushed access at the agent's boundary.
 * @throws Error naming the first bad field.
 */
export function validateAccess(v: unknown): StorageAccess {
  const o = v as Record<string, unknown>;
  if (!o || typeof o !== 'object') throw new Error('access must be a JSON object');
  const str = (k: string, optional = false): void => {
    if (optional && (o[k] === undefined || o[k] === null)) return;
    if (typeof o[k] !== 'string') throw new Error(`access.${k} must be a string`);
  };
  str('bucket');
  str('root');
  if (o.obsPath !== null && typeof o.obsPath !== 'string') throw new Error('access.obsPath must be a string or null');
  if ((o.root as string) !== '' && !(o.root as string).endsWith('/')) throw new Error('access.root must be empty or end with "/"');
  if (typeof o.obsPath === 'string' && (!o.obsPath.startsWith(o.root as string) || !o.obsPath.endsWith('/'))) {
    throw new Error('access.obsPath must end with "/" and lie under access.root');
  }
  str('defaultPrefix');
  const limits = o.syncLimits as Record<string, unknown> | undefined;
  if (!limits || !Number.isInteger(limits.maxFiles) || !Number.isInteger(limits.maxWorkBytes)) {
    throw new Error('access.syncLimits must be { maxFiles, maxWorkBytes } (integers)');
  }
  if (o.kind === 's3') {
    for (const k of ['endpoint', 'region', 'accessKeyId', 'secretAccessKey']) str(k);
    str('sessionToken', true);
    str('expiration', true);
    if (typeof o.forcePathStyle !== 'boolean') throw new Error('access.forcePathStyle must be a boolean');
  } else if (o.kind === 'fs') {
    str('dir');
  } else {
    throw new Error('access.kind must be "s3" or "fs"');
  }
  return o as unknown as StorageAccess;
}

/**
 * A store for an access. For S3, the keys are read through `keys()` each time the SDK asks,
 * so renewed keys are picked up without a new client.
 *
 * #### Notes
 * The stores are loaded on first use: an agent whose instance never touches object storage
 * does not pay for the AWS SDK (~15 MB and ~100 ms at startup).
 */
export async function storeForAccess(a: StorageAccess, keys?: () => S3Credentials, opts: { partSize?: number } = {}): Promise<IMultipartObjectStore> {
  if (a.kind === 'fs') {
    const { FsObjectStore } = await import('./fs-object-store');
    return new FsObjectStore({ root: a.dir, ...(opts.partSize ? { partSize: opts.partSize } : {}) });
  }
  const { S3ObjectStore } = await import('./s3-object-store');
  return new S3ObjectStore({
    endpoint: a.endpoint,
    region: a.region,
    forcePathStyle: a.forcePathStyle,
    credentials: keys ? async () => keys() : keysOf(a),
    ...(opts.partSize ? { partSize: opts.partSize } : {})
  });
}

/** The keys of an S3 access, in the SDK's shape. */
export function keysOf(a: S3Access): S3Credentials {
  return {
    accessKeyId: a.accessKeyId, secretAccessKey: a.secretAccessKey,
    ...(a.sessionToken ? { sessionToken: a.sessionToken } : {}),
    ...(a.expiration ? { expiration: new Date(a.expiration) } : {})
  };
}
