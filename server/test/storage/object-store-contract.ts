/**
 * The `IObjectStore` contract (STYLE.md §26), run against every implementation: the
 * filesystem store in unit tests, a real RADOS Gateway in integration tests.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MiB, multipartEtag } from '../../src/storage/etag';
import {
  NoSuchBucketError, NoSuchUploadError, ObjectNotFoundError, listAll, type IMultipartObjectStore
} from '../../src/storage/object-store';

export interface ContractFixture {
  store: IMultipartObjectStore;
  /** An existing, empty bucket for this suite. */
  bucket: string;
  dispose(): Promise<void>;
}

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

/** A stream of unknown length, in uneven chunks. */
function chunked(data: Buffer, chunk = 700_001): Readable {
  return Readable.from((function* () {
    for (let i = 0; i < data.length; i += chunk) yield data.subarray(i, i + chunk);
  })());
}

/**
 * Registers the contract suite.
 * @param make - creates a store whose `partSize` is 5 MiB (so multipart is cheap to test).
 */
export function describeObjectStoreContract(name: string, make: () => Promise<ContractFixture>): void {
  describe(`IObjectStore contract: ${name}`, () => {
    let fx: ContractFixture;
    let store: IMultipartObjectStore;
    let bucket: string;

    beforeAll(async () => {
      fx = await make();
      store = fx.store;
      bucket = fx.bucket;
      expect(store.partSize).toBe(5 * MiB);
    });
    afterAll(async () => {
      await fx?.dispose();
    });

    describe('#put() / #head() / #get()', () => {
      it('should round-trip a small buffer with an MD5 ETag', async () => {
        const body = Buffer.from('hello, object store\n');
        const put = await store.put(bucket, 'rt/hello.txt', body, { contentType: 'text/plain' });
        expect(put).toMatchObject({ key: 'rt/hello.txt', size: body.length, etag: md5(body) });
        const head = await store.head(bucket, 'rt/hello.txt');
        expect(head).toMatchObject({ key: 'rt/hello.txt', size: body.length, etag: md5(body), contentType: 'text/plain' });
        expect(head.lastModified.getTime()).toBeGreaterThan(Date.now() - 600_000);
        expect(await buffer(await store.get(bucket, 'rt/hello.txt'))).toEqual(body);
      });

      it('should store a stream larger than one part as a multipart object with an S3 ETag', async () => {
        const body = randomBytes(11 * MiB + 123);
        const put = await store.put(bucket, 'rt/big.bin', chunked(body));
        const parts = [body.subarray(0, 5 * MiB), body.subarray(5 * MiB, 10 * MiB), body.subarray(10 * MiB)];
        const expected = multipartEtag(parts.map(p => createHash('md5').update(p).digest()));
        expect(put).toMatchObject({ size: body.length, etag: expected });
        expect((await store.head(bucket, 'rt/big.bin')).etag).toBe(expected);
        expect(md5(await buffer(await store.get(bucket, 'rt/big.bin')))).toBe(md5(body));
      });

      it('should keep a stream of one part or less single-part', async () => {
        const body = randomBytes(3 * MiB);
        const put = await store.put(bucket, 'rt/mid.bin', chunked(body));
        expect(put.etag).toBe(md5(body));
      });

      it('should return an inclusive byte range', async () => {
        const body = Buffer.from('0123456789abcdef');
        await store.put(bucket, 'rt/range.txt', body);
        expect((await buffer(await store.get(bucket, 'rt/range.txt', { range: { start: 3, end: 7 } }))).toString()).toBe('34567');
      });

      it('should replace an object and change its ETag', async () => {
        await store.put(bucket, 'rt/over.txt', Buffer.from('one'));
        const second = await store.put(bucket, 'rt/over.txt', Buffer.from('two!'));
        expect(second.etag).toBe(md5(Buffer.from('two!')));
        expect((await store.head(bucket, 'rt/over.txt')).size).toBe(4);
      });

      it('should store an empty object and a folder marker', async () => {
        expect((await store.put(bucket, 'rt/empty', Buffer.alloc(0))).etag).toBe(md5(Buffer.alloc(0)));
        await store.put(bucket, 'rt/folder/', Buffer.alloc(0));
        expect((await store.head(bucket, 'rt/folder/')).size).toBe(0);
      });

      it('should keep non-ASCII keys intact', async () => {
        const key = 'rt/données/été 2024 + 漢字.txt';
        await store.put(bucket, key, Buffer.from('utf8'));
        expect((await store.head(bucket, key)).key).toBe(key);
        const page = await store.list(bucket, { prefix: 'rt/données/' });
        expect(page.objects.map(o => o.key)).toEqual([key]);
      });

      it('should throw ObjectNotFoundError for a missing key', async () => {
        await expect(store.head(bucket, 'rt/nope')).rejects.toBeInstanceOf(ObjectNotFoundError);
        await expect(store.get(bucket, 'rt/nope')).rejects.toBeInstanceOf(ObjectNotFoundError);
      });

      it('should throw NoSuchBucketError for a missing bucket', async () => {
        await expect(store.put('nbtest-no-such-bucket', 'k', Buffer.from('x'))).rejects.toBeInstanceOf(NoSuchBucketError);
        await expect(store.list('nbtest-no-such-bucket', {})).rejects.toBeInstanceOf(NoSuchBucketError);
      });
    });

    describe('#list()', () => {
      const keys = ['ls/a-c', 'ls/a/1', 'ls/a/2', 'ls/a/b/3', 'ls/b', 'ls/a/', 'ls/z/deep/x'];

      beforeAll(async () => {
        await Promise.all(keys.map(k => store.put(bucket, k, Buffer.from(k))));
      });

      it('should list every key under a prefix in UTF-8 byte order', async () => {
        const page = await store.list(bucket, { prefix: 'ls/' });
        expect(page.objects.map(o => o.key)).toEqual([...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
        expect(page.prefixes).toEqual([]);
        expect(page.continuationToken).toBeUndefined();
        const one = page.objects.find(o => o.key === 'ls/b')!;
        expect(one).toMatchObject({ size: 4, etag: md5(Buffer.from('ls/b')) });
      });

      it('should fold keys into common prefixes with a delimiter', async () => {
        const top = await store.list(bucket, { prefix: 'ls/', delimiter: '/' });
        expect(top.objects.map(o => o.key)).toEqual(['ls/a-c', 'ls/b']);
        expect(top.prefixes).toEqual(['ls/a/', 'ls/z/']);
        const inA = await store.list(bucket, { prefix: 'ls/a/', delimiter: '/' });
        expect(inA.objects.map(o => o.key)).toEqual(['ls/a/', 'ls/a/1', 'ls/a/2']);
        expect(inA.prefixes).toEqual(['ls/a/b/']);
        const partial = await store.list(bucket, { prefix: 'ls/a', delimiter: '/' });
        expect(partial.objects.map(o => o.key)).toEqual(['ls/a-c']);
        expect(partial.prefixes).toEqual(['ls/a/']);
      });

      it('should page with continuation tokens', async () => {
        await Promise.all(Array.from({ length: 25 }, (_, i) => store.put(bucket, `pg/k${String(i).padStart(2, '0')}`, Buffer.from(String(i)))));
        const seen: string[] = [];
        let token: string | undefined;
        let pages = 0;
        do {
          const page = await store.list(bucket, { prefix: 'pg/', maxKeys: 10, continuationToken: token });
          expect(page.objects.length).toBeLessThanOrEqual(10);
          seen.push(...page.objects.map(o => o.key));
          token = page.continuationToken;
          pages++;
        } while (token);
        expect(pages).toBe(3);
        expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `pg/k${String(i).padStart(2, '0')}`));
        const all: string[] = [];
        for await (const o of listAll(store, bucket, 'pg/')) all.push(o.key);
        expect(all).toEqual(seen);
      });

      it('should return nothing for a prefix with no keys', async () => {
        expect(await store.list(bucket, { prefix: 'ls/none/', delimiter: '/' })).toEqual({ objects: [], prefixes: [] });
      });
    });

    describe('#delete() / #copy()', () => {
      it('should delete objects and ignore missing keys', async () => {
        await store.put(bucket, 'del/x/1', Buffer.from('1'));
        await store.put(bucket, 'del/x/2', Buffer.from('2'));
        await store.delete(bucket, ['del/x/1', 'del/x/never']);
        await expect(store.head(bucket, 'del/x/1')).rejects.toBeInstanceOf(ObjectNotFoundError);
        expect((await store.list(bucket, { prefix: 'del/' })).objects.map(o => o.key)).toEqual(['del/x/2']);
        await store.delete(bucket, ['del/x/2']);
        expect(await store.list(bucket, { prefix: 'del/', delimiter: '/' })).toEqual({ objects: [], prefixes: [] });
      });

      it('should copy an object server-side', async () => {
        const body = randomBytes(1000);
        await store.put(bucket, 'cp/src', body, { contentType: 'application/x-test' });
        const copied = await store.copy(bucket, 'cp/src', 'cp/dst');
        expect(copied).toMatchObject({ key: 'cp/dst', size: 1000 });
        expect(await buffer(await store.get(bucket, 'cp/dst'))).toEqual(body);
        expect((await store.head(bucket, 'cp/dst')).etag).toBe(copied.etag);
        await expect(store.copy(bucket, 'cp/missing', 'cp/x')).rejects.toBeInstanceOf(ObjectNotFoundError);
      });
    });

    describe('multipart primitives', () => {
      it('should upload parts, list them, and complete with the S3 ETag', async () => {
        const p1 = randomBytes(5 * MiB);
        const p2 = randomBytes(1234);
        const id = await store.createMultipartUpload(bucket, 'mp/file.bin', { contentType: 'application/octet-stream' });
        expect((await store.listMultipartUploads(bucket, 'mp/')).map(u => u.uploadId)).toContain(id);
        const r2 = await store.uploadPart(bucket, 'mp/file.bin', id, 2, p2);
        const r1 = await store.uploadPart(bucket, 'mp/file.bin', id, 1, p1);
        expect(r1.etag).toBe(md5(p1));
        expect(await store.listParts(bucket, 'mp/file.bin', id)).toEqual([
          { partNumber: 1, etag: md5(p1), size: p1.length },
          { partNumber: 2, etag: md5(p2), size: p2.length }
        ]);
        const done = await store.completeMultipartUpload(bucket, 'mp/file.bin', id, [r1, r2]);
        const expected = multipartEtag([p1, p2].map(p => createHash('md5').update(p).digest()));
        expect(done).toMatchObject({ key: 'mp/file.bin', size: p1.length + p2.length, etag: expected });
        expect(md5(await buffer(await store.get(bucket, 'mp/file.bin')))).toBe(md5(Buffer.concat([p1, p2])));
        expect((await store.listMultipartUploads(bucket, 'mp/')).map(u => u.uploadId)).not.toContain(id);
      });

      it('should refuse to complete with a part under 5 MiB that is not the last', async () => {
        const id = await store.createMultipartUpload(bucket, 'mp/small');
        const a = await store.uploadPart(bucket, 'mp/small', id, 1, randomBytes(1024));
        const b = await store.uploadPart(bucket, 'mp/small', id, 2, randomBytes(1024));
        await expect(store.completeMultipartUpload(bucket, 'mp/small', id, [a, b])).rejects.toThrow();
        await store.abortMultipartUpload(bucket, 'mp/small', id);
      });

      it('should abort an upload, idempotently', async () => {
        const id = await store.createMultipartUpload(bucket, 'mp/aborted');
        await store.uploadPart(bucket, 'mp/aborted', id, 1, randomBytes(100));
        await store.abortMultipartUpload(bucket, 'mp/aborted', id);
        await store.abortMultipartUpload(bucket, 'mp/aborted', id);
        expect((await store.listMultipartUploads(bucket, 'mp/aborted')).length).toBe(0);
        await expect(store.listParts(bucket, 'mp/aborted', id)).rejects.toBeInstanceOf(NoSuchUploadError);
        await expect(store.head(bucket, 'mp/aborted')).rejects.toBeInstanceOf(ObjectNotFoundError);
      });
    });

    describe('#ensureBucket()', () => {
      it('should be idempotent', async () => {
        await store.ensureBucket(bucket);
        await store.ensureBucket(bucket);
        expect((await store.list(bucket, { prefix: 'rt/hello' })).objects.length).toBe(1);
      });
    });
  });
}
