/**
 * Keys for instances. With `sts` (the default for S3) the gateway assumes a role with a
 * session policy that allows only the owner's root prefix, so code running in an instance
 * cannot read or write another user's data even if it reads the keys from memory. With
 * `shared` it hands out its own keys (one tenant only). The embedded store needs no keys.
 *
 * #### Notes
 * - Keys are cached per user and root until half their lifetime has passed.
 * - Works with AWS STS and Ceph RADOS Gateway's STS (`rgw_s3_auth_use_sts`); the role must
 *   trust the gateway's identity and allow S3 on the bucket (docs/storage.md).
 */
import { AssumeRoleCommand, STSClient } from '@aws-sdk/nested-clients/sts';
import type { S3Credentials } from './s3-object-store';

export interface StorageRoot {
  bucket: string;
  /** Empty or ending in `/`. */
  prefix: string;
}

export interface ICredentialBroker {
  readonly mode: 'sts' | 'shared';
  /** Keys that reach `root` (and, for `sts`, nothing else). */
  keysFor(user: { id: string; name: string }, root: StorageRoot): Promise<S3Credentials>;
  dispose(): Promise<void>;
}

/** The gateway's own keys, for every instance. */
export class SharedCredentials implements ICredentialBroker {
  readonly mode = 'shared' as const;
  constructor(private readonly _keys: S3Credentials) {}
  async keysFor(): Promise<S3Credentials> {
    return this._keys;
  }
  async dispose(): Promise<void> {
    /* nothing held */
  }
}

export interface StsCredentialsOptions {
  endpoint: string;
  region: string;
  roleArn: string;
  /** The gateway's identity, allowed to assume the role. */
  keys: S3Credentials;
  ttlSeconds: number;
}

/** Temporary keys from STS AssumeRole, narrowed to the user's root by a session policy. */
export class StsCredentials implements ICredentialBroker {
  readonly mode = 'sts' as const;
  private readonly _client: STSClient;
  private readonly _cache = new Map<string, { keys: S3Credentials; renewAt: number }>();
  private readonly _pending = new Map<string, Promise<S3Credentials>>();

  constructor(private readonly _o: StsCredentialsOptions) {
    this._client = new STSClient({
      region: _o.region || 'us-east-1',
      credentials: _o.keys,
      ...(_o.endpoint ? { endpoint: _o.endpoint } : {})
    });
  }

  async keysFor(user: { id: string; name: string }, root: StorageRoot): Promise<S3Credentials> {
    const id = `${user.id}\0${root.bucket}\0${root.prefix}`;
    const hit = this._cache.get(id);
    if (hit && Date.now() < hit.renewAt) return hit.keys;
    let p = this._pending.get(id);
    if (!p) {
      p = this._assume(user, root).finally(() => this._pending.delete(id));
      this._pending.set(id, p);
    }
    return p;
  }

  private async _assume(user: { id: string; name: string }, root: StorageRoot): Promise<S3Credentials> {
    const out = await this._client.send(new AssumeRoleCommand({
      RoleArn: this._o.roleArn,
      RoleSessionName: sessionName(user.name),
      DurationSeconds: this._o.ttlSeconds,
      Policy: JSON.stringify(sessionPolicy(root))
    }));
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error('STS AssumeRole returned no credentials');
    const expiration = c.Expiration ?? new Date(Date.now() + this._o.ttlSeconds * 1000);
    const keys: S3Credentials = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration };
    const now = Date.now();
    this._cache.set(`${user.id}\0${root.bucket}\0${root.prefix}`, { keys, renewAt: now + (expiration.getTime() - now) / 2 });
    return keys;
  }

  async dispose(): Promise<void> {
    this._client.destroy();
    this._cache.clear();
  }
}

/**
 * The session policy: objects under the root (multipart parts included), and listing only with
 * a prefix under it. An empty root (a whole bucket) allows the whole bucket.
 *
 * #### Notes
 * Listing a bucket's unfinished multipart uploads is not allowed: it would show other users'
 * key names. Sync finds its own unfinished uploads in its local journal instead.
 */
export function sessionPolicy(root: StorageRoot): Record<string, unknown> {
  const objects = `arn:aws:s3:::${root.bucket}/${root.prefix}*`;
  const list: Record<string, unknown> = { Effect: 'Allow', Action: ['s3:ListBucket'], Resource: [`arn:aws:s3:::${root.bucket}`] };
  if (root.prefix) list.Condition = { StringLike: { 's3:prefix': [`${root.prefix}*`] } };
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        Resource: [objects]
      },
      list
    ]
  };
}

/** STS session names: 2–64 of `[\w+=,.@-]`. */
function sessionName(user: string): string {
  const clean = user.replace(/[^\w+=,.@-]/g, '_');
  return `nbg-${clean}`.slice(0, 64);
}
