/**
 * Storage request parsing (shared by the gateway and the agent), storage paths, the session
 * policy instances' keys get, and the storage env of obs instances.
 */
import { describe, expect, it } from 'vitest';
import { sessionPolicy } from '../../src/storage/credentials';
import { bucketProblem, normaliseKeyPath, normalisePrefix } from '../../src/storage/paths';
import { storageEnv, withStorageEnv } from '../../src/storage/service';
import { parseSyncRequest, SyncRequestError } from '../../src/storage/sync-request';
import type { IRuntimeDriver, InstanceSpec } from '../../src/drivers/driver';

const parse = (b: unknown) => parseSyncRequest(b, { maxSources: 3 });
const fail = (b: unknown): SyncRequestError => {
  try {
    parse(b);
  } catch (err) {
    if (err instanceof SyncRequestError) return err;
    throw err;
  }
  throw new Error(`accepted ${JSON.stringify(b)}`);
};

describe('parseSyncRequest()', () => {
  it('should fill defaults and normalise paths', () => {
    expect(parse({ kind: 'push' })).toEqual({ kind: 'push', sources: null, path: '', prefix: null, delete: false, maxDelete: 100, dryRun: false, concurrency: 16 });
    expect(parse({ kind: 'pull', path: '/a/b/', prefix: 'x/y', delete: true, maxDelete: 0 })).toMatchObject({ path: 'a/b', prefix: 'x/y/', delete: true, maxDelete: 0 });
    expect(parse({ kind: 'obs', sources: ['a.csv', 'dir/', '/x/y'] }).sources).toEqual(['a.csv', 'dir/', 'x/y']);
  });

  it('should refuse what could leave the root, naming the field', () => {
    for (const [body, field] of [
      [{ kind: 'push', prefix: '../bob/' }, 'prefix'],
      [{ kind: 'push', path: 'a/../../etc' }, 'path'],
      [{ kind: 'obs', sources: ['ok', 'a/./b'] }, 'sources[1]'],
      [{ kind: 'pull', prefix: 'a\u0000b/' }, 'prefix']
    ] as const) {
      const e = fail(body);
      expect(e.kind).toBe('path');
      expect(e.message).toContain(`"${field}"`);
    }
  });

  it('should refuse shapes that make no sense, saying what is allowed', () => {
    expect(fail({ kind: 'sync' }).message).toMatch(/"obs".*"push".*"pull"/);
    expect(fail({ kind: 'obs', sources: [] }).message).toMatch(/sources/);
    expect(fail({ kind: 'obs', sources: ['a', 'b', 'c', 'd'] }).message).toMatch(/at most 3/);
    expect(fail({ kind: 'obs', sources: ['a'], delete: true }).message).toMatch(/never deletes/);
    expect(fail({ kind: 'push', maxDelete: 3 }).message).toMatch(/only applies with "delete"/);
    expect(fail({ kind: 'push', concurrency: 0 }).message).toMatch(/1 to 64/);
    expect(fail({ kind: 'push', dryRun: 'yes' }).message).toMatch(/true or false/);
    expect(fail([]).message).toMatch(/JSON object/);
    expect(fail({ kind: 'push', what: 1 }).message).toMatch(/unknown field\(s\) what/);
  });
});

describe('storage paths', () => {
  it('should normalise prefixes and key paths', () => {
    expect(normalisePrefix('')).toBe('');
    expect(normalisePrefix('/a/b')).toBe('a/b/');
    expect(normaliseKeyPath('a/b.txt')).toBe('a/b.txt');
    expect(normaliseKeyPath('a/b/')).toBe('a/b/');
    expect(() => normaliseKeyPath('')).toThrow(/empty/);
    expect(() => normalisePrefix('a/../b')).toThrow(/"\."/);
    expect(() => normalisePrefix('x'.repeat(901))).toThrow(/900 bytes/);
  });

  it('should check bucket names against S3 rules', () => {
    expect(bucketProblem('nbg-users')).toBeNull();
    for (const bad of ['ab', 'Upper', '-x-y', 'a..b', 'x'.repeat(64)]) expect(bucketProblem(bad)).not.toBeNull();
  });
});

describe('sessionPolicy()', () => {
  it('should allow objects and listing under the root only', () => {
    const p = sessionPolicy({ bucket: 'b1', prefix: 'users/alice/' }) as { Statement: { Action: string[]; Resource: string[]; Condition?: unknown }[] };
    expect(p.Statement[0]!.Resource).toEqual(['arn:aws:s3:::b1/users/alice/*']);
    expect(p.Statement[0]!.Action).not.toContain('s3:*');
    expect(p.Statement[1]).toMatchObject({ Action: ['s3:ListBucket'], Resource: ['arn:aws:s3:::b1'], Condition: { StringLike: { 's3:prefix': ['users/alice/*'] } } });
    expect(JSON.stringify(p)).not.toContain('ListBucketMultipartUploads');
  });
});

describe('withStorageEnv()', () => {
  it('should start obs instances with the object-storage file browser and pass the rest through', async () => {
    const seen: InstanceSpec[] = [];
    const driver = {
      kind: 'fake',
      extra: 42,
      async start(spec: InstanceSpec) {
        seen.push(spec);
        return { endpoint: { host: '127.0.0.1', port: 1 }, state: { v: 1 } };
      },
      who(this: { kind: string }) {
        return this.kind;
      }
    } as unknown as IRuntimeDriver & { extra: number; who(): string };
    const wrapped = withStorageEnv(driver);
    const spec = (type: 'local' | 'obs') => ({ storage: { type, sizeGB: 5 }, env: { A: '1' } }) as unknown as InstanceSpec;
    await wrapped.start(spec('obs'), null, { signal: new AbortController().signal });
    await wrapped.start(spec('local'), null, { signal: new AbortController().signal });
    expect(seen.map(s => s.env)).toEqual([{ A: '1', NBG_KG_CONTENTS_PROVIDER: 's3' }, { A: '1' }]);
    expect(wrapped.kind).toBe('fake');
    expect(wrapped.extra).toBe(42);
    expect(wrapped.who()).toBe('fake');
    expect(storageEnv({ storage: { type: 'local', sizeGB: 5 } })).toEqual({});
  });
});
