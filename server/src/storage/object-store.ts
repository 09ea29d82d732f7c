/**
 * The object-storage seam (OBS/S3): one interface over any S3-compatible store
 * (`@aws-sdk/client-s3`) and an embedded filesystem store behind the same contract.
 *
 * Keys are `/`-separated, no leading slash; a key ending in `/` is a folder marker (an empty
 * object that consoles create for empty folders). ETags are unquoted and the store's own: an
 * MD5 hex for single-part objects, `<md5 of part md5s>-<parts>` for multipart ones (compare
 * them only with ETags of the same store; `etag.ts` predicts them for local files).
 *
 * Errors: `ObjectNotFoundError` for missing keys, `NoSuchBucketError` for missing buckets,
 * `NoSuchUploadError` for unknown multipart uploads, `AccessDeniedError` when the credentials
 * are wrong or not allowed the path; anything else propagates.
 *
 * #### Notes
 * This module and its implementations import nothing from the rest of the server, so the
 * agent (kernel gateway) bundles them for the `obs` contents provider and in-instance sync.
 */
import type { Readable } from 'node:stream';

export interface ObjectInfo {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
  /** Only from `head` (listings do not carry it). */
  contentType?: string;
}

export interface ListPage {
  objects: ObjectInfo[];
  /** Common prefixes (`dir/`) when listing with a delimiter. */
  prefixes: string[];
  /** Pass back to get the next page; absent on the last page. */
  continuationToken?: string;
}

export interface ListOptions {
  prefix?: string;
  delimiter?: string;
  continuationToken?: string;
  /** Keys plus common prefixes per page; at most (and by default) 1000. */
  maxKeys?: number;
  signal?: AbortSignal;
}

export interface PutOptions {
  contentType?: string;
  /** Size in bytes when known (lets implementations pick single-part vs multipart). */
  size?: number;
  /** The body's MD5 when the caller has it already (a Buffer body; saves hashing it again). */
  md5?: Buffer;
  signal?: AbortSignal;
}

/** One uploaded part of a multipart upload. */
export interface PartInfo {
  partNumber: number;
  etag: string;
  size: number;
}

/** A multipart upload that was started and neither completed nor aborted. */
export interface UploadInfo {
  key: string;
  uploadId: string;
  initiated: Date;
}

export interface IObjectStore {
  readonly kind: 's3' | 'fs';

  /** One page of a listing (ListObjectsV2 semantics, keys in UTF-8 byte order). @throws NoSuchBucketError */
  list(bucket: string, opts: ListOptions): Promise<ListPage>;

  /** Metadata of one object. @throws ObjectNotFoundError */
  head(bucket: string, key: string, opts?: { signal?: AbortSignal }): Promise<ObjectInfo>;

  /**
   * A stream of the object's bytes, or of an inclusive byte range (HTTP `Range` semantics).
   * @throws ObjectNotFoundError
   */
  get(bucket: string, key: string, opts?: { range?: { start: number; end: number }; signal?: AbortSignal }): Promise<Readable>;

  /** Writes an object from a buffer or stream; large bodies use multipart upload. @throws NoSuchBucketError */
  put(bucket: string, key: string, body: Buffer | Readable, opts?: PutOptions): Promise<ObjectInfo>;

  /** Deletes objects (missing keys are not an error). @throws NoSuchBucketError */
  delete(bucket: string, keys: readonly string[], opts?: { signal?: AbortSignal }): Promise<void>;

  /** Server-side copy. @throws ObjectNotFoundError */
  copy(bucket: string, fromKey: string, toKey: string): Promise<ObjectInfo>;

  /** Creates the bucket when it does not exist. */
  ensureBucket(bucket: string): Promise<void>;

  /** Releases connections; idempotent. */
  dispose(): Promise<void>;
}

/**
 * A store with S3's multipart primitives, for resumable uploads of large files (sync).
 * `FsObjectStore` and `S3ObjectStore` both implement it.
 */
export interface IMultipartObjectStore extends IObjectStore {
  /**
   * Part size of multipart uploads made by `put`: bodies up to this size are stored in one
   * part (ETag = MD5), larger ones in parts of this size (see `etag.ts` `partSizeFor`).
   */
  readonly partSize: number;

  /** Starts a multipart upload. @returns its upload id. @throws NoSuchBucketError */
  createMultipartUpload(bucket: string, key: string, opts?: { contentType?: string; signal?: AbortSignal }): Promise<string>;

  /**
   * Uploads one part (1–10000); re-uploading a part number replaces it. Every part but the
   * last must be at least 5 MiB. @throws NoSuchUploadError
   */
  uploadPart(bucket: string, key: string, uploadId: string, partNumber: number, body: Buffer, opts?: { md5?: Buffer; signal?: AbortSignal }): Promise<PartInfo>;

  /** Parts uploaded so far, by part number. @throws NoSuchUploadError */
  listParts(bucket: string, key: string, uploadId: string, opts?: { signal?: AbortSignal }): Promise<PartInfo[]>;

  /** Unfinished uploads whose key starts with `prefix`. */
  listMultipartUploads(bucket: string, prefix: string, opts?: { signal?: AbortSignal }): Promise<UploadInfo[]>;

  /** Assembles the listed parts (ascending) into the object. @throws NoSuchUploadError */
  completeMultipartUpload(bucket: string, key: string, uploadId: string, parts: readonly { partNumber: number; etag: string }[]): Promise<ObjectInfo>;

  /** Discards an upload and its parts; an unknown upload id is not an error. */
  abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void>;
}

/**
 * Base of the storage errors.
 *
 * #### Notes
 * `instanceof` compares names: the agent loads the S3 store as a bundle of its own (so agents
 * that never use S3 do not load the AWS SDK), and errors it throws are instances of that
 * bundle's copy of these classes.
 */
export abstract class StorageError extends Error {
  static override [Symbol.hasInstance](x: unknown): boolean {
    return x instanceof Error && (this as unknown as { name: string }).name !== 'StorageError'
      ? x.name === (this as unknown as { name: string }).name
      : x instanceof Error && ['ObjectNotFoundError', 'NoSuchBucketError', 'NoSuchUploadError', 'AccessDeniedError', 'InvalidObjectKeyError'].includes(x.name);
  }
}

export class ObjectNotFoundError extends StorageError {
  constructor(readonly bucket: string, readonly key: string) {
    super(`object s3://${bucket}/${key} does not exist`);
    this.name = 'ObjectNotFoundError';
  }
}

export class NoSuchBucketError extends StorageError {
  constructor(readonly bucket: string) {
    super(`bucket "${bucket}" does not exist`);
    this.name = 'NoSuchBucketError';
  }
}

export class NoSuchUploadError extends StorageError {
  constructor(readonly bucket: string, readonly key: string, readonly uploadId: string) {
    super(`multipart upload ${uploadId} of s3://${bucket}/${key} does not exist (completed or aborted)`);
    this.name = 'NoSuchUploadError';
  }
}

/** The store refused the credentials, or they are not allowed this bucket or key. */
export class AccessDeniedError extends StorageError {
  constructor(readonly bucket: string, readonly key: string, readonly code: string) {
    super(`access to s3://${bucket}/${key} was denied (${code}): the credentials are wrong or not allowed this path`);
    this.name = 'AccessDeniedError';
  }
}

/** A key the store cannot hold (the filesystem store's rules, or S3's 1024-byte limit). */
export class InvalidObjectKeyError extends StorageError {
  constructor(readonly key: string, reason: string) {
    super(`invalid object key "${key}": ${reason}`);
    this.name = 'InvalidObjectKeyError';
  }
}

/** Iterates every object under a prefix, page by page. */
export async function* listAll(store: IObjectStore, bucket: string, prefix: string, opts: { signal?: AbortSignal } = {}): AsyncGenerator<ObjectInfo> {
  let token: string | undefined;
  do {
    const page = await store.list(bucket, { prefix, continuationToken: token, signal: opts.signal });
    yield* page.objects;
    token = page.continuationToken;
  } while (token);
}

/** Deletes every object under a prefix; returns how many were deleted. */
export async function deletePrefix(store: IObjectStore, bucket: string, prefix: string): Promise<number> {
  let n = 0;
  let batch: string[] = [];
  for await (const o of listAll(store, bucket, prefix)) {
    batch.push(o.key);
    if (batch.length === 1000) {
      await store.delete(bucket, batch);
      n += batch.length;
      batch = [];
    }
  }
  if (batch.length) await store.delete(bucket, batch);
  return n + batch.length;
}

/** Compares keys in UTF-8 byte order (S3's listing order), which is code point order. */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (U+D800–DFFF) encode code points above U+FFFF: they sort after U+E000–FFFF.
    const sx = x >= 0xd800 && x <= 0xdfff;
    const sy = y >= 0xd800 && y <= 0xdfff;
    if (sx !== sy) return sx ? (y >= 0xe000 ? 1 : x - y) : x >= 0xe000 ? -1 : x - y;
    return x - y;
  }
  return a.length - b.length;
}
