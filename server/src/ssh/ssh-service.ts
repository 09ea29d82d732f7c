/**
 * The SSH area as the rest of the gateway sees it: keys, per-instance settings, the SSH
 * server, and how users reach it. The composition root builds one; routes call it.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { UserStore } from '../auth/user-store';
import type { ISqlDatabase } from '../db/database';
import { Errors } from '../errors';
import type { InstanceRecord } from '../instances/instance';
import type { InstanceManager } from '../instances/manager';
import type { Logger } from '../logger';
import type { HostKey } from './host-key';
import { SshKeyStore, type SshKeyRecord } from './key-store';
import { SshSettingsStore } from './settings-store';
import { SshAuth } from './ssh-auth';
import { SshGateway, type SshAuditEvent, type SshGatewayOptions } from './ssh-gateway';
import { generateEd25519, parsePublicKey } from './ssh-keys';
import type { SshSettings } from './validate';

export interface SshServiceOptions {
  db: ISqlDatabase;
  users: UserStore;
  instances: InstanceManager;
  /** Whether an image allows SSH (its catalogue entry's `ssh`); unknown images allow it. */
  imageAllowsSsh(image: string, ownerId: string): Promise<boolean>;
  dataDir: string;
  /** Bind address and port of the SSH server; port -1 turns it off, 0 picks a free one. */
  host: string;
  port: number;
  /** `host` or `host:port` users connect to; empty: derived from `publicUrl` / the bind address. */
  publicAddress: string;
  publicUrl: string;
  log: Logger;
  onActivity?(instanceId: string): void;
  onAudit?(event: SshAuditEvent): void;
  metrics?: SshGatewayOptions['metrics'];
}

/** How a user reaches the SSH server. */
export interface SshEndpoint {
  host: string;
  port: number;
  hostKey: HostKey;
}

export class SshService {
  readonly keys: SshKeyStore;
  readonly settings: SshSettingsStore;
  readonly auth: SshAuth;
  readonly gateway: SshGateway | null;
  private readonly _onStatus: (rec: InstanceRecord) => void;

  constructor(private readonly _o: SshServiceOptions) {
    this.keys = new SshKeyStore(_o.db);
    this.settings = new SshSettingsStore(_o.db);
    this.auth = new SshAuth({
      db: _o.db,
      users: _o.users,
      keys: this.keys,
      settings: this.settings,
      resolveOpen: (p, id) => _o.instances.resolveOpen(p, id),
      imageAllowsSsh: _o.imageAllowsSsh
    });
    this.gateway = _o.port < 0 ? null : new SshGateway({
      host: _o.host,
      port: _o.port,
      hostKeyDir: join(_o.dataDir, 'ssh'),
      auth: this.auth,
      keys: this.keys,
      log: _o.log,
      ...(_o.onActivity ? { onActivity: _o.onActivity } : {}),
      ...(_o.onAudit ? { onAudit: _o.onAudit } : {}),
      ...(_o.metrics ? { metrics: _o.metrics } : {})
    });
    this._onStatus = rec => {
      if (rec.status !== 'RUNNING') this.gateway?.disconnectInstance(rec.id, `instance "${rec.name}" is ${rec.status}`);
    };
    _o.instances.on('statusChanged', this._onStatus);
  }

  /** Starts the SSH server (when enabled). */
  async listen(): Promise<void> {
    await this.gateway?.listen();
  }

  /** Where users connect, or null when the SSH server is off. */
  endpoint(): SshEndpoint | null {
    const addr = this.gateway?.address();
    if (!this.gateway || !addr) return null;
    return { ...publicHostPort(this._o.publicAddress, this._o.publicUrl, addr), hostKey: this.gateway.hostKey };
  }

  /**
   * Registers an uploaded public key, or generates an ed25519 pair.
   * @returns the key, and the private key when generated (shown once, never stored).
   */
  async addKey(user: { id: string; name: string }, name: string, publicKey: string | undefined): Promise<{ key: SshKeyRecord; privateKey?: string }> {
    if (publicKey !== undefined) return { key: await this.keys.add(user.id, name, parsePublicKey(publicKey)) };
    const pair = generateEd25519(`${user.name}@nbgateway:${name}`);
    return { key: await this.keys.add(user.id, name, pair.publicKey), privateKey: pair.privateKey };
  }

  /** Deletes a key and drops the connections it opened. */
  async deleteKey(userId: string, id: string): Promise<SshKeyRecord> {
    const rec = await this.keys.remove(userId, id);
    this.gateway?.disconnectKey(rec.id);
    return rec;
  }

  /**
   * Stores an instance's SSH settings; live connections that the new settings no longer
   * allow are dropped.
   * @throws SSH_NOT_SUPPORTED when turning SSH on for an image without it.
   */
  async updateSettings(rec: Pick<InstanceRecord, 'id' | 'image' | 'ownerId'>, next: SshSettings): Promise<void> {
    await this.checkSettings(rec.image, rec.ownerId, next);
    await this.settings.put(rec.id, next);
    await this.gateway?.recheck(rec.id);
  }

  /**
   * Checks settings asked for with a new instance, before it is created.
   * @throws SSH_NOT_SUPPORTED when SSH is asked for on an image whose catalogue entry says `ssh: false`.
   */
  async checkSettings(image: string, ownerId: string, s: SshSettings): Promise<void> {
    if (s.enabled && !(await this._o.imageAllowsSsh(image, ownerId))) throw Errors.SSH_NOT_SUPPORTED(image);
  }

  /** The effective settings: the image's `ssh: false` overrides what is stored. */
  async effectiveSettings(rec: Pick<InstanceRecord, 'id' | 'image' | 'ownerId'>): Promise<SshSettings & { supported: boolean }> {
    const supported = await this._o.imageAllowsSsh(rec.image, rec.ownerId);
    const stored = await this.settings.get(rec.id);
    return { ...stored, enabled: supported && stored.enabled, supported };
  }

  async dispose(): Promise<void> {
    this._o.instances.removeListener('statusChanged', this._onStatus);
    await this.gateway?.dispose();
  }
}

/**
 * The host and port users connect to.
 * @param configured - `host` or `host:port` (`[v6]:port`); empty: the public URL's host, else the bind address.
 */
export function publicHostPort(configured: string, publicUrl: string, bound: { host: string; port: number }): { host: string; port: number } {
  if (configured) {
    const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(configured.trim());
    if (m) return { host: m[1] ?? m[2]!, port: m[3] ? Number(m[3]) : bound.port };
  }
  if (publicUrl) {
    try {
      return { host: new URL(publicUrl).hostname.replace(/^\[|\]$/g, ''), port: bound.port };
    } catch {
      /* fall through */
    }
  }
  const wildcard = bound.host === '0.0.0.0' || bound.host === '::';
  return { host: wildcard ? hostname() : bound.host, port: bound.port };
}
