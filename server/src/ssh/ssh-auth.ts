/**
 * Who may open which instance over SSH (SPEC §7): the login name names the user and the
 * instance, a registered key of that user proves it, and the instance must be RUNNING, have
 * SSH on, and allow the client's address.
 *
 * #### Notes
 * - Login name: `<user>+<instance>`, the instance by name or id, so a plain `~/.ssh/config`
 *   entry (`User alice+demo`) names it. The user part is split at the last `+` (instance
 *   names cannot contain one).
 * - Only the owner's keys open the owner's instances: keys are looked up for the user the
 *   login names, and that user's own instances only. An administrator's key opens only the
 *   administrator's instances (SSH is a shell as the instance's user, not an admin view).
 * - The allow-list is checked as soon as the login name is known, before any key: an
 *   address outside it never gets to try keys. This tells such a client that the instance
 *   exists (the price of a clear refusal); it learns nothing else.
 * - Everything after the key is verified (instance state, SSH off, policy) is told plainly:
 *   the user has proven who they are.
 */
import type { Principal } from '../auth/principal';
import { Errors } from '../errors';
import type { UserRecord } from '../auth/user-store';
import type { ISqlDatabase } from '../db/database';
import type { OpenTarget } from '../instances/instance';
import { instanceBaseUrl } from '../instances/manager';
import type { AgentTarget } from './agent-link';
import { anyContains, parseCidr } from './cidr';
import type { SshKeyRecord, SshKeyStore } from './key-store';
import type { SshSettingsStore } from './settings-store';
import { fingerprintOf } from './ssh-keys';
import type { SshSettings } from './validate';

/** `<user>+<instance>` */
export interface LoginName {
  user: string;
  instance: string;
}

export const LOGIN_HELP = 'log in as <user>+<instance>, e.g. ssh alice+demo@<gateway> (the instance by name or id)';

/** Parses a login name; null when it does not have the `<user>+<instance>` form. */
export function parseLoginName(name: string): LoginName | null {
  const plus = name.lastIndexOf('+');
  if (plus <= 0 || plus === name.length - 1) return null;
  const instance = name.slice(plus + 1);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(instance)) return null;
  return { user: name.slice(0, plus), instance };
}

/** An instance as SSH needs to know it. */
export interface InstanceRef {
  id: string;
  name: string;
  ownerId: string;
  image: string;
  status: string;
}

/** Who is trying to connect, resolved from the login name. */
export interface Subject {
  login: LoginName;
  user: UserRecord;
  /** Undefined when the user has no such instance. */
  instance: InstanceRef | undefined;
  settings: SshSettings | undefined;
}

export type Admission =
  | { ok: true; principal: Principal; instance: InstanceRef }
  | { ok: false; message: string; code: string };

export interface SshAuthOptions {
  db: ISqlDatabase;
  users: { byName(name: string): Promise<UserRecord | undefined> };
  keys: SshKeyStore;
  settings: SshSettingsStore;
  /** The one rule for opening an instance (tenancy, policy, RUNNING): `InstanceManager.resolveOpen`. */
  resolveOpen(principal: Principal, id: string): Promise<OpenTarget>;
  /** Whether the instance's image allows SSH (catalogue `ssh`); unknown images allow it. */
  imageAllowsSsh(image: string, ownerId: string): Promise<boolean>;
}

export class SshAuth {
  constructor(private readonly _o: SshAuthOptions) {}

  /**
   * Resolves the login name. Undefined when the name is malformed or the user unknown or
   * disabled (the caller fails authentication without saying which).
   */
  async identify(login: LoginName): Promise<Subject | undefined> {
    const user = await this._o.users.byName(login.user);
    if (!user || user.disabled) return undefined;
    const instance = await this.findInstance(user.id, login.instance);
    const settings = instance ? await this._o.settings.get(instance.id) : undefined;
    return { login, user, instance, settings };
  }

  /** True when the client's address may connect to the subject's instance. */
  addressAllowed(subject: Subject, ip: string): boolean {
    const cidrs = subject.settings?.allowCidrs ?? [];
    return cidrs.length === 0 || anyContains(cidrs.map(c => parseCidr(c)), ip);
  }

  /** The subject's registered key with this wire blob, if any. */
  async keyFor(subject: Subject, blob: Buffer): Promise<SshKeyRecord | undefined> {
    return this._o.keys.find(subject.user.id, fingerprintOf(blob));
  }

  /**
   * Decides, once the key is verified, whether the connection may go on.
   * @returns a refusal with a message for the user, or the principal and instance.
   */
  async admit(subject: Subject, ip: string): Promise<Admission> {
    const { user, login } = subject;
    const principal: Principal = { userId: user.id, name: user.name, role: user.role, via: 'ssh' };
    // Re-read: settings and state may have changed while the client was offering keys.
    const instance = await this.findInstance(user.id, login.instance);
    if (!instance) {
      const names = await this._names(user.id);
      return { ok: false, code: Errors.INSTANCE_NOT_FOUND.code, message: `you have no instance "${login.instance}"${names.length ? `; yours: ${names.join(', ')}` : ''}` };
    }
    if (!(await this._o.imageAllowsSsh(instance.image, instance.ownerId))) {
      return { ok: false, code: Errors.SSH_NOT_SUPPORTED.code, message: `instance "${instance.name}" runs image "${instance.image}", which does not support SSH` };
    }
    const settings = await this._o.settings.get(instance.id);
    try {
      if (!settings.enabled) throw Errors.SSH_DISABLED(instance.name, instance.id);
      if (!this.addressAllowed({ ...subject, settings }, ip)) throw Errors.SSH_ADDRESS_REFUSED(ip, instance.name);
      await this._o.resolveOpen(principal, instance.id);
    } catch (err) {
      const e = err as { code?: string; message?: string };
      return { ok: false, code: e.code ?? 'NB_ERR_INTERNAL', message: e.message ?? String(err) };
    }
    return { ok: true, principal, instance };
  }

  /**
   * The agent to open a channel on, checked again for every channel: the instance may have
   * stopped, or its owner may have turned SSH off, since the connection was made.
   * @throws an HttpError (INSTANCE_STATE, …) or an Error with the reason.
   */
  async target(principal: Principal, instance: InstanceRef, ip: string): Promise<AgentTarget> {
    const settings = await this._o.settings.get(instance.id);
    if (!settings.enabled) throw Errors.SSH_DISABLED(instance.name, instance.id);
    const cidrs = settings.allowCidrs.map(c => parseCidr(c));
    if (cidrs.length && !anyContains(cidrs, ip)) throw Errors.SSH_ADDRESS_REFUSED(ip, instance.name);
    const t = await this._o.resolveOpen(principal, instance.id);
    return { instanceId: t.instanceId, endpoint: t.endpoint, agentToken: t.agentToken, baseUrl: instanceBaseUrl(t.instanceId) };
  }

  /** One of the owner's live instances, by id or by name (an id wins). */
  async findInstance(ownerId: string, nameOrId: string): Promise<InstanceRef | undefined> {
    const rows = await this._o.db.all<{ id: string; name: string; owner_id: string; image: string; status: string }>(
      'SELECT id, name, owner_id, image, status FROM instances WHERE owner_id = $1 AND deleted_at IS NULL AND (id = $2 OR name = $2)',
      [ownerId, nameOrId]
    );
    const row = rows.find(r => r.id === nameOrId) ?? rows[0];
    return row ? { id: row.id, name: row.name, ownerId: row.owner_id, image: row.image, status: row.status } : undefined;
  }

  private async _names(ownerId: string): Promise<string[]> {
    const rows = await this._o.db.all<{ name: string }>('SELECT name FROM instances WHERE owner_id = $1 AND deleted_at IS NULL ORDER BY name', [ownerId]);
    return rows.map(r => r.name);
  }
}
