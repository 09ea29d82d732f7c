/**
 * An in-memory IObjectStore for unit tests of the job manager (the filesystem and S3 stores
 * are tested against the contract by the storage suites). ListObjectsV2 semantics: sorted
 * keys, prefix, pagination with a continuation token.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ObjectNotFoundError, type IObjectStore, type ListPage, type ObjectInfo } from '../../src/storage/object-store';

export class MemoryObjectStore implements IObjectStore {
  readonly kind = 'fs' as const;
  readonly buckets = new Map<string, Map<string, { body: Buffer; info: ObjectInfo }>>();

  async ensureBucket(bucket: string): Promise<void> {
    if (!this.buckets.has(bucket)) this.buckets.set(bucket, new Map());
  }

  private _bucket(bucket: string): Map<string, { body: Buffer; info: ObjectInfo }> {
    const b = this.buckets.get(bucket);
    if (!b) throw new Error(`NoSuchBucket: ${bucket}`);
    return b;
  }

  async list(bucket: string, opts: { prefix?: string; delimiter?: string; continuationToken?: string; maxKeys?: number }): Promise<ListPage> {
    const keys = [...this._bucket(bucket).keys()].filter(k => k.startsWith(opts.prefix ?? '')).sort();
    const start = opts.continuationToken ? keys.findIndex(k => k > opts.continuationToken!) : 0;
    const max = opts.maxKeys ?? 1000;
    const slice = keys.slice(start < 0 ? keys.length : start, (start < 0 ? keys.length : start) + max);
    const more = (start < 0 ? keys.length : start) + max < keys.length;
    return {
      objects: slice.map(k => this._bucket(bucket).get(k)!.info),
      prefixes: [],
      ...(more ? { continuationToken: slice.at(-1)! } : {})
    };
  }

  async head(bucket: string, key: string): Promise<ObjectInfo> {
    const o = this._bucket(bucket).get(key);
    if (!o) throw new ObjectNotFoundError(bucket, key);
    return o.info;
  }

  async get(bucket: string, key: string): Promise<Readable> {
    const o = this._bucket(bucket).get(key);
    if (!o) throw new ObjectNotFoundError(bucket, key);
    return Readable.from([o.body]);
  }

  async put(bucket: string, key: string, body: Buffer | Readable): Promise<ObjectInfo> {
    const parts: Buffer[] = [];
    if (Buffer.isBuffer(body)) parts.push(body);
    else for await (const c of body) parts.push(Buffer.from(c as Buffer));
    const buf = Buffer.concat(parts);
    const info: ObjectInfo = { key, size: buf.length, etag: createHash('md5').update(buf).digest('hex'), lastModified: new Date() };
    this._bucket(bucket).set(key, { body: buf, info });
    return info;
  }

  async delete(bucket: string, keys: readonly string[]): Promise<void> {
    for (const k of keys) this._bucket(bucket).delete(k);
  }

  async copy(bucket: string, fromKey: string, toKey: string): Promise<ObjectInfo> {
    const o = this._bucket(bucket).get(fromKey);
    if (!o) throw new ObjectNotFoundError(bucket, fromKey);
    return this.put(bucket, toKey, o.body);
  }

  text(bucket: string, key: string): string | undefined {
    return this.buckets.get(bucket)?.get(key)?.body.toString();
  }

  async dispose(): Promise<void> {}
}
