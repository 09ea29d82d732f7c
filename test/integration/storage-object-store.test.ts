/**
 * S3ObjectStore against a real RADOS Gateway: the same contract as the filesystem store
 * (STYLE.md §26), with SigV4 signatures checked and S3's multipart rules enforced.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MiB } from '../../server/src/storage/etag';
import { AccessDeniedError } from '../../server/src/storage/object-store';
import { S3ObjectStore } from '../../server/src/storage/s3-object-store';
import { describeObjectStoreContract } from '../../server/test/storage/object-store-contract';
import { startRadosGateway, type RadosGateway } from '../utils/radosgw';

let rgw: RadosGateway;
beforeAll(async () => {
  rgw = await startRadosGateway();
});
afterAll(async () => {
  await rgw?.dispose();
});

const storeFor = (user: { accessKeyId: string; secretAccessKey: string }): S3ObjectStore =>
  new S3ObjectStore({ endpoint: rgw.endpoint, region: rgw.region, forcePathStyle: true, credentials: user, partSize: 5 * MiB });

describeObjectStoreContract('S3ObjectStore on radosgw', async () => {
  const store = storeFor(rgw.admin);
  await store.ensureBucket('nbtest-contract');
  return { store, bucket: 'nbtest-contract', dispose: () => store.dispose() };
});

describe('S3ObjectStore', () => {
  it('should fail with a clear error when the signature is wrong', async () => {
    const store = storeFor({ accessKeyId: rgw.admin.accessKeyId, secretAccessKey: 'wrong-secret' });
    await expect(store.list('nbtest-contract', {})).rejects.toBeInstanceOf(AccessDeniedError);
    await store.dispose();
  });

  it('should delete more than 1000 keys in batches', async () => {
    const store = storeFor(rgw.admin);
    await store.ensureBucket('nbtest-batch');
    const keys = Array.from({ length: 1003 }, (_, i) => `many/${i}`);
    for (let i = 0; i < keys.length; i += 100) await Promise.all(keys.slice(i, i + 100).map(k => store.put('nbtest-batch', k, Buffer.from(k))));
    await store.delete('nbtest-batch', keys);
    expect((await store.list('nbtest-batch', { prefix: 'many/' })).objects).toEqual([]);
    await store.dispose();
  });
});
