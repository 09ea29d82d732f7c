/**
 * The object-storage seam (OBS/S3): one interface over any S3-compatible store
 * (`@aws-sdk/client-s3`) and an embedded filesystem store behind the same contract.
 *
 * Keys are `/`-separated, no leading slash. ETags are the store's own: an MD5 hex for
 * single-part objects, `<md5>-<parts>` for multipart ones (compare them only with ETags of
 * the same store). Errors: `ObjectNotFoundError` for missing keys; anything else propagates.
 */
import type { Readable } from 'node:stream';

export interface ObjectInfo {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
}

export interface ListPage {
  objects: ObjectInfo[];
  /** Common prefixes (`dir/`) when listing with a delimiter. */
  prefixes: string[];
  /** Pass back to get the next page; absent on the last page. */
  continuationToken?: string;
}

export interface PutOptions {
  contentType?: string;
  /** Size in bytes when known (lets implementations pick single-part vs multipart). */
  size?: number;
  signal?: AbortSignal;
}

export interface IObjectStore {
  readonly kind: 's3' | 'fs';

  /** One page of a listing (ListObjectsV2 semantics). */
  list(bucket: string, opts: { prefix?: string; delimiter?: string; continuationToken?: string; maxKeys?: number }): Promise<ListPage>;

  /** Metadata of one object. @throws ObjectNotFoundError */
  head(bucket: string, key: string): Promise<ObjectInfo>;

  /** A stream of the object's bytes (optionally a byte range). @throws ObjectNotFoundError */
  get(bucket: string, key: string, opts?: { range?: { start: number; end: number }; signal?: AbortSignal }): Promise<Readable>;

  /** Writes an object from a buffer or stream; large bodies use multipart upload. */
  put(bucket: string, key: string, body: Buffer | Readable, opts?: PutOptions): Promise<ObjectInfo>;

  /** Deletes objects (missing keys are not an error). */
  delete(bucket: string, keys: readonly string[]): Promise<void>;

  /** Server-side copy. @throws ObjectNotFoundError */
  copy(bucket: string, fromKey: string, toKey: string): Promise<ObjectInfo>;

  /** Creates the bucket when it does not exist. */
  ensureBucket(bucket: string): Promise<void>;

  dispose(): Promise<void>;
}

export class ObjectNotFoundError extends Error {
  constructor(readonly bucket: string, readonly key: string) {
    super(`object s3://${bucket}/${key} does not exist`);
    this.name = 'ObjectNotFoundError';
  }
}

/** Iterates every object under a prefix, page by page. */
export async function* listAll(store: IObjectStore, bucket: string, prefix: string): AsyncGenerator<ObjectInfo> {
  let token: string | undefined;
  do {
    const page = await store.list(bucket, { prefix, continuationToken: token });
    yield* page.objects;
    token = page.continuationToken;
  } while (token);
}
