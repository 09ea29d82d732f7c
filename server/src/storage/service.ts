/**
 * Object storage in the gateway: the deployment's store, users' roots, and instances' access.
 *
 * - Every RUNNING instance's agent is given its owner's `StorageAccess` (pushed over the agent
 *   API when the instance starts, at boot for instances already running, and again before
 *   temporary keys expire), so Sync OBS, push/pull and the `obs` file browser run next to the
 *   files, with keys that reach only the owner's root.
 * - Sync requests are validated here, turned into absolute prefixes under the owner's root, and
 *   run by the agent (`agent-client.ts`).
 *
 * #### Notes
 * Several gateway replicas each push to the instances they see: pushes are idempotent, and
 * the agent keeps the keys that expire last.
 */
import { join } from 'node:path';
import type { Config } from '../config';
import type { ISqlDatabase } from '../db/database';
import type { IRuntimeDriver, InstanceSpec } from '../drivers/driver';
import { Errors } from '../errors';
import type { InstanceRecord } from '../instances/instance';
import type { InstanceStore } from '../instances/instance-store';
import type { InstanceManager } from '../instances/manager';
import type { Logger } from '../logger';
import type { StorageAccess } from './access';
import { agentSync, type AgentTarget } from './agent-client';
import { SharedCredentials, StsCredentials, type ICredentialBroker, type StorageRoot } from './credentials';
import { FsObjectStore } from './fs-object-store';
import type { IMultipartObjectStore } from './object-store';
import { StorageRoots } from './roots';
import { S3ObjectStore } from './s3-object-store';

export interface StorageServiceOptions {
  config: Config;
  db: ISqlDatabase;
  instances: InstanceManager;
  instanceStore: InstanceStore;
  log: Logger;
  /** How often RUNNING instances are checked for keys to renew. */
  refreshIntervalMs?: number;
}

/** The env an instance's agent starts with for its storage mode (no secrets). */
export function storageEnv(spec: Pick<InstanceSpec, 'storage'>): Record<string, string> {
  return spec.storage.type === 'obs' ? { NBG_KG_CONTENTS_PROVIDER: 's3' } : {};
}

/**
 * A driver that starts `obs` instances' agents with the S3 contents provider. Everything else
 * passes through unchanged (`InstanceSpec.env` is the seam for this).
 */
export function withStorageEnv<D extends IRuntimeDriver>(driver: D): D {
  return new Proxy(driver, {
    get(target, prop) {
      if (prop === 'start') {
        return (spec: InstanceSpec, ...rest: unknown[]) =>
          (target.start as (...a: unknown[]) => unknown).call(target, { ...spec, env: { ...spec.env, ...storageEnv(spec) } }, ...rest);
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    }
  });
}

/** The deployment's store, from the config. @throws Error naming a missing setting. */
export function createObjectStore(config: Config): IMultipartObjectStore {
  if (config.objectStore === 'fs') return new FsObjectStore({ root: config.objectStoreDir || join(config.dataDir, 'objects') });
  if (!config.s3AccessKeyId || !config.s3SecretAccessKey) {
    throw new Error('objectStore is "s3" but the gateway has no S3 keys: set NBG_S3_ACCESS_KEY_ID and NBG_S3_SECRET_ACCESS_KEY (or s3AccessKeyId/s3SecretAccessKey in the config file)');
  }
  return new S3ObjectStore({
    endpoint: config.s3Endpoint, region: config.s3Region, forcePathStyle: config.s3ForcePathStyle,
    credentials: { accessKeyId: config.s3AccessKeyId, secretAccessKey: config.s3SecretAccessKey }
  });
}

function createBroker(config: Config): ICredentialBroker | null {
  if (config.objectStore !== 's3') return null;
  const keys = { accessKeyId: config.s3AccessKeyId, secretAccessKey: config.s3SecretAccessKey };
  if (config.s3InstanceCredentials === 'shared') return new SharedCredentials(keys);
  if (!config.s3StsRoleArn) {
    throw new Error('s3InstanceCredentials is "sts" (keys for instances limited to their owner\'s prefix) but s3StsRoleArn is empty: set the role to assume (docs/storage.md), or s3InstanceCredentials=shared for a single-tenant deployment');
  }
  return new StsCredentials({
    endpoint: config.s3StsEndpoint || config.s3Endpoint, region: config.s3Region, roleArn: config.s3StsRoleArn, keys,
    ttlSeconds: config.s3CredentialTtlSeconds
  });
}

export class StorageService {
  readonly store: IMultipartObjectStore;
  readonly roots: StorageRoots;
  private readonly _broker: ICredentialBroker | null;
  /** Instance id → when its pushed access should be renewed (ms). */
  private readonly _renewAt = new Map<string, number>();
  private readonly _inflight = new Map<string, Promise<void>>();
  private _timer: NodeJS.Timeout | null = null;
  private _disposed = false;
  private readonly _onStatus = (rec: InstanceRecord): void => {
    if (rec.status === 'RUNNING') void this.pushAccess(rec, { retries: 4 }).catch(err => this._o.log.warn({ err: (err as Error).message, instance: rec.id }, 'storage access not delivered'));
    else this._renewAt.delete(rec.id);
  };

  constructor(private readonly _o: StorageServiceOptions) {
    const { config } = _o;
    this.store = createObjectStore(config);
    this._broker = createBroker(config);
    this.roots = new StorageRoots({ db: _o.db, defaultBucket: config.storageBucket, prefixTemplate: config.storageUserPrefix });
  }

  /** Makes the default bucket, then serves instances: those running now, and each new start. */
  async start(): Promise<void> {
    await this.store.ensureBucket(this._o.config.storageBucket).catch(err =>
      this._o.log.warn({ err: (err as Error).message, bucket: this._o.config.storageBucket }, 'cannot create the storage bucket; create it or grant the gateway CreateBucket'));
    this._o.instances.on('statusChanged', this._onStatus);
    await this.refresh();
    const every = this._o.refreshIntervalMs ?? 60_000;
    const tick = (): void => {
      this._timer = setTimeout(() => {
        void this.refresh().catch(err => this._o.log.warn({ err }, 'storage access refresh failed')).finally(() => {
          if (!this._disposed) tick();
        });
      }, every);
      this._timer.unref();
    };
    tick();
  }

  /** Pushes access to RUNNING instances that have none from us yet, or whose keys near expiry. */
  async refresh(): Promise<void> {
    const now = Date.now();
    for (const rec of await this._o.instanceStore.inStatus(['RUNNING'])) {
      if ((this._renewAt.get(rec.id) ?? 0) > now) continue;
      await this.pushAccess(rec).catch(err => this._o.log.warn({ err: (err as Error).message, instance: rec.id }, 'storage access not delivered'));
    }
  }

  /** The root of a user. */
  rootOf(user: { id: string; name: string }): Promise<StorageRoot & { custom: boolean }> {
    return this.roots.rootOf(user);
  }

  /** The OBS path of an `obs` instance: `<root>notebooks/<name>/`. */
  static obsPathOf(root: StorageRoot, rec: Pick<InstanceRecord, 'name'>): string {
    return `${root.prefix}notebooks/${rec.name}/`;
  }

  /** What an instance's agent gets: the store, the owner's root, and keys limited to it. */
  async accessFor(rec: Pick<InstanceRecord, 'ownerId' | 'ownerName' | 'name' | 'storageType'>): Promise<StorageAccess> {
    const { config } = this._o;
    const root = await this.roots.rootOf({ id: rec.ownerId, name: rec.ownerName });
    const base = {
      bucket: root.bucket,
      root: root.prefix,
      obsPath: rec.storageType === 'obs' ? StorageService.obsPathOf(root, rec) : null,
      defaultPrefix: `notebooks/${rec.name}/`,
      syncLimits: { maxFiles: config.syncMaxFiles, maxWorkBytes: config.syncMaxWorkMB * 1024 * 1024 }
    };
    if (!this._broker) return { kind: 'fs', dir: config.objectStoreDir || join(config.dataDir, 'objects'), ...base };
    const keys = await this._broker.keysFor({ id: rec.ownerId, name: rec.ownerName }, root);
    return {
      kind: 's3',
      endpoint: config.s3InstanceEndpoint || config.s3Endpoint,
      region: config.s3Region,
      forcePathStyle: config.s3ForcePathStyle,
      accessKeyId: keys.accessKeyId,
      secretAccessKey: keys.secretAccessKey,
      ...(keys.sessionToken ? { sessionToken: keys.sessionToken } : {}),
      ...(keys.expiration ? { expiration: keys.expiration.toISOString() } : {}),
      ...base
    };
  }

  /**
   * Gives an instance's agent its access (coalescing concurrent pushes to one instance).
   * @param opts.retries - attempts while a just-started agent settles.
   */
  async pushAccess(rec: InstanceRecord, opts: { retries?: number } = {}): Promise<void> {
    const running = this._inflight.get(rec.id);
    if (running) return running;
    const p = this._push(rec, opts.retries ?? 1).finally(() => this._inflight.delete(rec.id));
    this._inflight.set(rec.id, p);
    return p;
  }

  private async _push(rec: InstanceRecord, attempts: number): Promise<void> {
    if (!rec.endpoint) return;
    const target: AgentTarget = { instanceId: rec.id, endpoint: rec.endpoint, agentToken: rec.agentToken };
    for (let i = 1; ; i++) {
      try {
        const access = await this.accessFor(rec);
        await agentSync(target, 'PUT', 'access', access, 15_000);
        const expires = access.kind === 's3' && access.expiration ? new Date(access.expiration).getTime() : Infinity;
        const now = Date.now();
        this._renewAt.set(rec.id, expires === Infinity ? Infinity : now + (expires - now) / 2);
        this._o.log.debug({ instance: rec.id, kind: access.kind, expires: access.kind === 's3' ? access.expiration ?? null : null }, 'storage access delivered');
        return;
      } catch (err) {
        if (i >= attempts || this._disposed) throw err;
        await new Promise(r => setTimeout(r, 250 * 2 ** i).unref());
      }
    }
  }

  /**
   * Makes sure an instance's agent has its access before a request that needs it (a push
   * lost to a restarted agent is redone here).
   */
  async ensureAccess(rec: InstanceRecord): Promise<void> {
    if ((this._renewAt.get(rec.id) ?? 0) > Date.now()) return;
    await this.pushAccess(rec, { retries: 2 }).catch(err => {
      throw Errors.STORAGE_UNAVAILABLE(`the instance could not be given its storage access: ${(err as Error).message}`);
    });
  }

  /** Gives a user's running instances their access again (after their root changed). */
  async reapply(ownerId: string): Promise<void> {
    for (const rec of await this._o.instanceStore.inStatus(['RUNNING'])) {
      if (rec.ownerId !== ownerId) continue;
      this._renewAt.delete(rec.id);
      await this.pushAccess(rec).catch(err => this._o.log.warn({ err: (err as Error).message, instance: rec.id }, 'storage access not delivered'));
    }
  }

  /** Forgets that an agent has its access (it answered that it has none). */
  forget(instanceId: string): void {
    this._renewAt.delete(instanceId);
  }

  async dispose(): Promise<void> {
    if (this._disposed) return;
    this._disposed = true;
    if (this._timer) clearTimeout(this._timer);
    this._o.instances.off('statusChanged', this._onStatus);
    await Promise.allSettled([...this._inflight.values()]);
    await this._broker?.dispose();
    await this.store.dispose();
  }
}
