/**
 * `IObjectStore` over any S3-compatible store with `@aws-sdk/client-s3` (AWS S3, Ceph RADOS
 * Gateway, OBS, MinIO…); large bodies go through `@aws-sdk/lib-storage`'s multipart `Upload`.
 *
 * #### Notes
 * - Checksums are sent only where an operation requires them: S3-compatible stores that
 *   predate the SDK's default CRC32 trailers (radosgw 16, older MinIO) reject them.
 * - radosgw answers CompleteMultipartUpload with an empty ETag; the object's ETag is read
 *   back with a HEAD, which every store answers correctly.
 * - Connections are kept alive and pooled (`maxSockets`), so parallel transfers reuse them.
 * - Bodies sent with Content-MD5 are signed as UNSIGNED-PAYLOAD and without
 *   `Expect: 100-continue`: the MD5 (a signed header the store checks) already protects them,
 *   and each saves CPU or a round trip per request.
 */
import { createHash } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CopyObjectCommand, CreateBucketCommand,
  CreateMultipartUploadCommand, DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand,
  ListMultipartUploadsCommand, ListObjectsV2Command, ListPartsCommand, PutObjectCommand, S3Client, UploadPartCommand,
  UploadPartCopyCommand, type S3ClientConfig
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { DEFAULT_PART_SIZE, MIN_PART_SIZE, partSizeFor } from './etag';
import { FastPath } from './s3-fast-path';
import {
  AccessDeniedError, InvalidObjectKeyError, NoSuchBucketError, NoSuchUploadError, ObjectNotFoundError,
  type IMultipartObjectStore, type ListOptions, type ListPage, type ObjectInfo, type PartInfo, type PutOptions, type UploadInfo
} from './object-store';

/** Static keys, or temporary ones (STS) with their expiry. */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export interface S3ObjectStoreOptions {
  /** e.g. `http://127.0.0.1:7480`; empty for AWS. */
  endpoint?: string;
  region?: string;
  /** `http://host/bucket/key` instead of `http://bucket.host/key` (radosgw, MinIO). */
  forcePathStyle?: boolean;
  /** Keys, or a provider the SDK calls again when the last ones near their expiry. */
  credentials: S3Credentials | (() => Promise<S3Credentials>);
  /** Multipart part size for `put` (default 8 MiB). */
  partSize?: number;
  /** Parts of one `put` in flight at once. */
  queueSize?: number;
  /** Pooled connections to the store. */
  maxSockets?: number;
  requestTimeoutMs?: number;
}

/** S3 refuses single copies above 5 GiB; those go part by part. */
const MAX_COPY = 5 * 1024 ** 3;

export class S3ObjectStore implements IMultipartObjectStore {
  readonly kind = 's3' as const;
  readonly partSize: number;
  readonly client: S3Client;
  private readonly _queueSize: number;
  /** Signed PUTs without the SDK's per-request overhead (explicit endpoints only). */
  private readonly _fast: FastPath | null;
  /** False once the store refused a multi-object delete these keys may do one by one. */
  private _multiDelete = true;
  private _disposed = false;

  constructor(opts: S3ObjectStoreOptions) {
    this.partSize = Math.max(opts.partSize ?? DEFAULT_PART_SIZE, MIN_PART_SIZE);
    this._queueSize = opts.queueSize ?? 4;
    const maxSockets = opts.maxSockets ?? 64;
    const config: S3ClientConfig = {
      region: opts.region || 'us-east-1',
      forcePathStyle: opts.forcePathStyle ?? false,
      credentials: opts.credentials,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // No `Expect: 100-continue` on large bodies: a round trip per part that a store we are
      // allowed to write to never refuses.
      expectContinueHeader: false,
      maxAttempts: 4,
      requestHandler: new NodeHttpHandler({
        httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
        httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets }),
        connectionTimeout: 10_000,
        requestTimeout: opts.requestTimeoutMs ?? 120_000
      })
    };
    if (opts.endpoint) config.endpoint = opts.endpoint;
    this.client = new S3Client(config);
    this._fast = opts.endpoint
      ? new FastPath({
        endpoint: opts.endpoint, region: config.region as string, forcePathStyle: config.forcePathStyle ?? false,
        credentials: memoizeKeys(opts.credentials), maxSockets, timeoutMs: opts.requestTimeoutMs ?? 120_000
      })
      : null;
    // Bodies we send with Content-MD5 (a signed header the store verifies) need no SHA-256 of
    // the payload in the signature as well: hashing every byte twice costs CPU that parallel
    // transfers need.
    this.client.middlewareStack.add(
      (next, context) => async args => {
        const req = args.request as { headers?: Record<string, string> };
        if ((context.commandName === 'PutObjectCommand' || context.commandName === 'UploadPartCommand') && req.headers?.['content-md5']) {
          req.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
        }
        return next(args);
      },
      { step: 'build', name: 'nbgUnsignedPayloadWithMd5', override: true }
    );
  }

  async list(bucket: string, opts: ListOptions): Promise<ListPage> {
    const out = await this._send(bucket, '', o => this.client.send(new ListObjectsV2Command({
      Bucket: bucket,
      Prefix: opts.prefix || undefined,
      Delimiter: opts.delimiter || undefined,
      ContinuationToken: opts.continuationToken,
      MaxKeys: opts.maxKeys
    }), o), opts.signal);
    return {
      objects: (out.Contents ?? []).map(o => ({
        key: o.Key!,
        size: o.Size ?? 0,
        etag: unquote(o.ETag),
        lastModified: o.LastModified ?? new Date(0)
      })),
      prefixes: (out.CommonPrefixes ?? []).map(p => p.Prefix!).filter(Boolean),
      ...(out.IsTruncated && out.NextContinuationToken ? { continuationToken: out.NextContinuationToken } : {})
    };
  }

  async head(bucket: string, key: string, opts: { signal?: AbortSignal } = {}): Promise<ObjectInfo> {
    const out = await this._send(bucket, key, o => this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), o), opts.signal);
    return {
      key,
      size: out.ContentLength ?? 0,
      etag: unquote(out.ETag),
      lastModified: out.LastModified ?? new Date(0),
      ...(out.ContentType ? { contentType: out.ContentType } : {})
    };
  }

  async get(bucket: string, key: string, opts: { range?: { start: number; end: number }; signal?: AbortSignal } = {}): Promise<Readable> {
    if (this._fast) {
      const fast = this._fast;
      return this._send(bucket, key, () => fast.get(bucket, key, opts));
    }
    const out = await this._send(bucket, key, o => this.client.send(new GetObjectCommand({
      Bucket: bucket,
      Key: key,
      Range: opts.range ? `bytes=${opts.range.start}-${opts.range.end}` : undefined
    }), o), opts.signal);
    return out.Body as Readable;
  }

  async put(bucket: string, key: string, body: Buffer | Readable, opts: PutOptions = {}): Promise<ObjectInfo> {
    checkKey(key);
    if (Buffer.isBuffer(body) && body.length <= this.partSize) {
      const md5 = opts.md5 ?? createHash('md5').update(body).digest();
      if (this._fast) {
        const fast = this._fast;
        const etag = await this._send(bucket, key, () => fast.put(bucket, key, body, md5, { ...(opts.contentType ? { contentType: opts.contentType } : {}), ...(opts.signal ? { signal: opts.signal } : {}) }));
        return { key, size: body.length, etag: etag || md5.toString('hex'), lastModified: new Date() };
      }
      const out = await this._send(bucket, key, o => this.client.send(new PutObjectCommand({
        Bucket: bucket, Key: key, Body: body, ContentLength: body.length, ContentMD5: md5.toString('base64'),
        ContentType: opts.contentType
      }), o), opts.signal);
      return { key, size: body.length, etag: unquote(out.ETag) || md5.toString('hex'), lastModified: new Date() };
    }
    const size = opts.size ?? (Buffer.isBuffer(body) ? body.length : undefined);
    const upload = new Upload({
      client: this.client,
      params: { Bucket: bucket, Key: key, Body: body, ContentType: opts.contentType },
      partSize: size !== undefined ? partSizeFor(size, this.partSize) : this.partSize,
      queueSize: this._queueSize,
      leavePartsOnError: false
    });
    const onAbort = (): void => void upload.abort().catch(() => undefined);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await upload.done();
    } catch (err) {
      throw mapError(err, bucket, key);
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
    return this.head(bucket, key);
  }

  async delete(bucket: string, keys: readonly string[], opts: { signal?: AbortSignal } = {}): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      if (!this._multiDelete) {
        await this._deleteEach(bucket, batch, opts.signal);
        continue;
      }
      let out;
      try {
        out = await this._send(bucket, '', o => this.client.send(new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: batch.map(Key => ({ Key })), Quiet: true }
        }), o), opts.signal);
      } catch (err) {
        if (!(err instanceof AccessDeniedError)) throw err;
        // radosgw 16 checks DeleteObjects against the bucket, not each key, so keys limited to
        // a prefix (STS session policies) may delete one by one only.
        this._multiDelete = false;
        await this._deleteEach(bucket, batch, opts.signal);
        continue;
      }
      const failed = (out.Errors ?? []).filter(e => e.Code !== 'NoSuchKey');
      if (failed.length) {
        throw new Error(`could not delete ${failed.length} object(s), e.g. ${failed[0]!.Key}: ${failed[0]!.Code} ${failed[0]!.Message ?? ''}`.trim());
      }
    }
  }

  private async _deleteEach(bucket: string, keys: readonly string[], signal?: AbortSignal): Promise<void> {
    for (let i = 0; i < keys.length; i += 16) {
      await Promise.all(keys.slice(i, i + 16).map(async key => {
        try {
          await this._send(bucket, key, o => this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), o), signal);
        } catch (err) {
          if (!(err instanceof ObjectNotFoundError)) throw err;
        }
      }));
    }
  }

  async copy(bucket: string, fromKey: string, toKey: string): Promise<ObjectInfo> {
    checkKey(toKey);
    const src = await this.head(bucket, fromKey);
    const source = `${bucket}/${encodeKey(fromKey)}`;
    if (src.size <= MAX_COPY) {
      await this._send(bucket, fromKey, o => this.client.send(new CopyObjectCommand({ Bucket: bucket, Key: toKey, CopySource: source }), o));
      return this.head(bucket, toKey);
    }
    const partSize = partSizeFor(src.size, 512 * 1024 * 1024);
    const uploadId = await this.createMultipartUpload(bucket, toKey, src.contentType ? { contentType: src.contentType } : {});
    try {
      const parts: { partNumber: number; etag: string }[] = [];
      for (let n = 1, off = 0; off < src.size; n++, off += partSize) {
        const end = Math.min(off + partSize, src.size) - 1;
        const out = await this._send(bucket, fromKey, o => this.client.send(new UploadPartCopyCommand({
          Bucket: bucket, Key: toKey, UploadId: uploadId, PartNumber: n, CopySource: source, CopySourceRange: `bytes=${off}-${end}`
        }), o));
        parts.push({ partNumber: n, etag: unquote(out.CopyPartResult?.ETag) });
      }
      return await this.completeMultipartUpload(bucket, toKey, uploadId, parts);
    } catch (err) {
      await this.abortMultipartUpload(bucket, toKey, uploadId).catch(() => undefined);
      throw err;
    }
  }

  async ensureBucket(bucket: string): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: bucket }));
      return;
    } catch (err) {
      if (status(err) !== 404) throw err;
    }
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: bucket }));
    } catch (err) {
      const name = (err as Error).name;
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
    }
  }

  async createMultipartUpload(bucket: string, key: string, opts: { contentType?: string; signal?: AbortSignal } = {}): Promise<string> {
    checkKey(key);
    const out = await this._send(bucket, key, o => this.client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: opts.contentType }), o), opts.signal);
    return out.UploadId!;
  }

  async uploadPart(bucket: string, key: string, uploadId: string, partNumber: number, body: Buffer, opts: { md5?: Buffer; signal?: AbortSignal } = {}): Promise<PartInfo> {
    const md5 = opts.md5 ?? createHash('md5').update(body).digest();
    if (this._fast) {
      const fast = this._fast;
      const query = { partNumber: String(partNumber), uploadId };
      const etag = await this._send(bucket, key, () => fast.put(bucket, key, body, md5, { query, ...(opts.signal ? { signal: opts.signal } : {}) }), undefined, uploadId);
      return { partNumber, etag: etag || md5.toString('hex'), size: body.length };
    }
    const out = await this._send(bucket, key, o => this.client.send(new UploadPartCommand({
      Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body,
      ContentLength: body.length, ContentMD5: md5.toString('base64')
    }), o), opts.signal, uploadId);
    return { partNumber, etag: unquote(out.ETag) || md5.toString('hex'), size: body.length };
  }

  async listParts(bucket: string, key: string, uploadId: string, opts: { signal?: AbortSignal } = {}): Promise<PartInfo[]> {
    const parts: PartInfo[] = [];
    let marker: string | undefined;
    for (;;) {
      const out = await this._send(bucket, key, o => this.client.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker }), o), opts.signal, uploadId);
      for (const p of out.Parts ?? []) parts.push({ partNumber: p.PartNumber!, etag: unquote(p.ETag), size: p.Size ?? 0 });
      if (!out.IsTruncated || !out.NextPartNumberMarker) break;
      marker = out.NextPartNumberMarker;
    }
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  async listMultipartUploads(bucket: string, prefix: string, opts: { signal?: AbortSignal } = {}): Promise<UploadInfo[]> {
    const uploads: UploadInfo[] = [];
    let keyMarker: string | undefined;
    let idMarker: string | undefined;
    for (;;) {
      const out = await this._send(bucket, '', o => this.client.send(new ListMultipartUploadsCommand({
        Bucket: bucket, Prefix: prefix || undefined, KeyMarker: keyMarker, UploadIdMarker: idMarker
      }), o), opts.signal);
      for (const u of out.Uploads ?? []) uploads.push({ key: u.Key!, uploadId: u.UploadId!, initiated: u.Initiated ?? new Date(0) });
      if (!out.IsTruncated) break;
      keyMarker = out.NextKeyMarker;
      idMarker = out.NextUploadIdMarker;
    }
    return uploads;
  }

  async completeMultipartUpload(bucket: string, key: string, uploadId: string, parts: readonly { partNumber: number; etag: string }[]): Promise<ObjectInfo> {
    await this._send(bucket, key, o => this.client.send(new CompleteMultipartUploadCommand({
      Bucket: bucket, Key: key, UploadId: uploadId,
      MultipartUpload: { Parts: parts.map(p => ({ PartNumber: p.partNumber, ETag: `"${unquote(p.etag)}"` })) }
    }), o), undefined, uploadId);
    return this.head(bucket, key);
  }

  async abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    try {
      await this._send(bucket, key, o => this.client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }), o), undefined, uploadId);
    } catch (err) {
      if (!(err instanceof NoSuchUploadError)) throw err;
    }
  }

  async dispose(): Promise<void> {
    if (this._disposed) return;
    this._disposed = true;
    this._fast?.dispose();
    this.client.destroy();
  }

  /** Sends a command and maps S3's not-found answers to our error classes. */
  private async _send<T>(bucket: string, key: string, call: (opts: { abortSignal?: AbortSignal }) => Promise<T>, signal?: AbortSignal, uploadId?: string): Promise<T> {
    try {
      return await call(signal ? { abortSignal: signal } : {});
    } catch (err) {
      throw mapError(err, bucket, key, uploadId);
    }
  }
}

function mapError(err: unknown, bucket: string, key: string, uploadId?: string): unknown {
  const name = (err as Error)?.name;
  const code = status(err);
  if (name === 'NoSuchBucket') return new NoSuchBucketError(bucket);
  // radosgw answers NoSuchKey for an upload id that was completed or aborted.
  if (name === 'NoSuchUpload' || (uploadId && code === 404)) return new NoSuchUploadError(bucket, key, uploadId ?? '');
  if (code === 403 || name === 'AccessDenied' || name === 'SignatureDoesNotMatch' || name === 'InvalidAccessKeyId') {
    return new AccessDeniedError(bucket, key, name === 'UnknownError' || !name ? 'AccessDenied' : name);
  }
  if (name === 'NoSuchKey' || ((name === 'NotFound' || code === 404) && key)) return new ObjectNotFoundError(bucket, key);
  return err;
}

function status(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

function unquote(etag: string | undefined): string {
  return (etag ?? '').replaceAll('"', '');
}

/** `CopySource` is a URL path: each key segment percent-encoded, slashes kept. */
function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

function checkKey(key: string): void {
  if (!key) throw new InvalidObjectKeyError(key, 'it is empty');
  if (Buffer.byteLength(key) > 1024) throw new InvalidObjectKeyError(key, 'it is longer than 1024 bytes');
}

/** Keys for the fast path: a provider is asked again 5 minutes before expiry (or each minute). */
function memoizeKeys(c: S3Credentials | (() => Promise<S3Credentials>)): () => Promise<S3Credentials> {
  if (typeof c !== 'function') return async () => c;
  let cached: { keys: S3Credentials; until: number } | null = null;
  return async () => {
    if (cached && Date.now() < cached.until) return cached.keys;
    const keys = await c();
    cached = { keys, until: keys.expiration ? keys.expiration.getTime() - 300_000 : Date.now() + 60_000 };
    return keys;
  };
}
