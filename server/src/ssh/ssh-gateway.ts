/**
 * The gateway's SSH server (SPEC §7, issue 6): stock OpenSSH clients, VS Code Remote-SSH and
 * PyCharm reach a user's instance with a key pair. ssh2 speaks the protocol (with its native
 * crypto binding); each channel is carried to the instance's agent over a WebSocket.
 *
 * #### Notes
 * - Authentication: public keys only (`ssh-auth.ts`); password and keyboard-interactive are
 *   never offered. Unauthenticated connections get `LOGIN_GRACE_MS` and `MAX_AUTH_TRIES`.
 * - A refusal after the key is proven (instance STOPPED, SSH off, …) is a DISCONNECT whose
 *   text OpenSSH prints, so the user reads why instead of waiting.
 * - Live connections follow changes: an instance leaving RUNNING, its SSH being turned off or
 *   its allow-list narrowed, or the key being deleted disconnects them (on this replica; other
 *   replicas refuse each new channel, which re-checks).
 */
import { createServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { Server, utils, type AuthContext, type Connection, type ServerConfig } from 'ssh2';
import type { Principal } from '../auth/principal';
import { Errors } from '../errors';
import type { Logger } from '../logger';
import { loadOrCreateHostKey, type HostKey } from './host-key';
import { bridgeSession, type ChannelContext } from './session-bridge';
import { LOGIN_HELP, parseLoginName, type InstanceRef, type SshAuth, type Subject } from './ssh-auth';
import { DISCONNECT, disconnectWithMessage } from './ssh2-extras';
import { bridgeTcp } from './tcp-bridge';
import { clientIp, PendingConnections } from './pending-connections';
import type { SshKeyRecord, SshKeyStore } from './key-store';

/** Time a client has to authenticate (sshd's LoginGraceTime is 120 s). */
export const LOGIN_GRACE_MS = 60_000;
/** Failed key attempts before the connection is dropped (sshd's MaxAuthTries is 6; agents hold many keys). */
export const MAX_AUTH_TRIES = 10;
/** Connections still authenticating at once, in all (sshd's MaxStartups is 10:30:100). */
export const MAX_UNAUTHENTICATED = 1024;
/** … and from one address (OpenSSH's PerSourceMaxStartups), so one client cannot lock others out. */
export const MAX_UNAUTHENTICATED_PER_ADDRESS = 32;
/** Time a client has to send its identification line (it sends it at once; scanners and slowloris do not). */
export const HELLO_TIMEOUT_MS = 10_000;
/** Keepalive probes: a vanished client is dropped after about a minute. */
const KEEPALIVE_INTERVAL_MS = 15_000;
const KEEPALIVE_COUNT_MAX = 4;

/** What the audit trail hears from the SSH gateway. */
export interface SshAuditEvent {
  event: 'connect' | 'disconnect' | 'refused';
  /** The authenticated user; null before a key was proven. */
  user: { id: string; name: string } | null;
  login: string;
  sourceIp: string;
  instance: { id: string; name: string; ownerId: string } | null;
  keyFingerprint?: string;
  /** Error code of a refusal (`NB_ERR_INSTANCE_STATE`, `NB_ERR_SSH_ADDRESS_REFUSED`, …). */
  code?: string;
  durationMs?: number;
}

export interface SshGatewayOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Where the host key lives (`<dataDir>/ssh`). */
  hostKeyDir: string;
  auth: SshAuth;
  keys: SshKeyStore;
  log: Logger;
  /** Traffic on an instance's channels, at most once a second per connection (idle auto-stop). */
  onActivity?(instanceId: string): void;
  onAudit?(event: SshAuditEvent): void;
  /** Counts authenticated connections (`nbg_ssh_sessions_open`/`_total`). */
  metrics?: { sshSessionOpened(): void; sshSessionClosed(): void };
}

interface Live {
  client: Connection;
  ip: string;
  principal: Principal;
  instance: InstanceRef;
  key: SshKeyRecord;
  login: string;
  since: number;
}

export class SshGateway {
  private _server: Server | null = null;
  private _listener: NetServer | null = null;
  private readonly _admission: PendingConnections;
  private _hostKey: HostKey | null = null;
  private readonly _live = new Set<Live>();
  private readonly _pending = new Set<Connection>();
  private _disposed = false;

  constructor(private readonly _o: SshGatewayOptions) {
    this._admission = new PendingConnections({ perAddress: MAX_UNAUTHENTICATED_PER_ADDRESS, total: MAX_UNAUTHENTICATED, helloTimeoutMs: HELLO_TIMEOUT_MS }, _o.log);
  }

  /** The host key's public half and fingerprint (known_hosts lines, the console). */
  get hostKey(): HostKey {
    if (!this._hostKey) throw new Error('the SSH gateway is not listening yet');
    return this._hostKey;
  }

  /** Where it listens, once listening. */
  address(): { host: string; port: number } | null {
    const a = this._listener ? (this._listener.address() as AddressInfo | null) : null;
    return a ? { host: a.address, port: a.port } : null;
  }

  /** Open authenticated connections, optionally to one instance. */
  connections(instanceId?: string): number {
    let n = 0;
    for (const l of this._live) if (!instanceId || l.instance.id === instanceId) n++;
    return n;
  }

  async listen(): Promise<{ host: string; port: number }> {
    this._hostKey = await loadOrCreateHostKey(this._o.hostKeyDir);
    const config: ServerConfig = {
      hostKeys: [this._hostKey.privateKey],
      ident: 'nbgateway',
      keepaliveInterval: KEEPALIVE_INTERVAL_MS,
      keepaliveCountMax: KEEPALIVE_COUNT_MAX
    };
    const server = new Server(config, (client, info) => this._onConnection(client, info.ip, info.port));
    this._server = server;
    // Our own listener admits sockets before ssh2 sees them (per-address caps, hello timeout).
    const listener = createServer(socket => {
      if (this._disposed) return void socket.destroy();
      if (this._admission.admit(socket)) server.injectSocket(socket);
    });
    this._listener = listener;
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(this._o.port, this._o.host, () => {
        listener.removeListener('error', reject);
        resolve();
      });
    });
    listener.on('error', (err: Error) => this._o.log.error({ err }, 'ssh server error'));
    server.on('error', (err: Error) => this._o.log.error({ err }, 'ssh server error'));
    const addr = this.address()!;
    this._o.log.info({ host: addr.host, port: addr.port, fingerprint: this._hostKey.fingerprint }, 'ssh listening');
    return addr;
  }

  /** Disconnects every connection to the instance, telling the user why. */
  disconnectInstance(instanceId: string, reason: string): void {
    for (const l of this._live) if (l.instance.id === instanceId) disconnectWithMessage(l.client, DISCONNECT.BY_APPLICATION, `nbgateway: ${reason}`);
  }

  /** Disconnects the connections that authenticated with a key that was just deleted. */
  disconnectKey(keyId: string): void {
    for (const l of this._live) if (l.key.id === keyId) disconnectWithMessage(l.client, DISCONNECT.BY_APPLICATION, `nbgateway: the key "${l.key.name}" was deleted`);
  }

  /**
   * Re-checks the instance's connections after its SSH settings changed; the ones no longer
   * allowed (SSH off, address outside the new allow-list) are disconnected.
   */
  async recheck(instanceId: string): Promise<void> {
    for (const l of [...this._live]) {
      if (l.instance.id !== instanceId) continue;
      try {
        await this._o.auth.target(l.principal, l.instance, l.ip);
      } catch (err) {
        disconnectWithMessage(l.client, DISCONNECT.BY_APPLICATION, `nbgateway: ${(err as Error).message}`);
      }
    }
  }

  private _onConnection(client: Connection, rawIp: string, port: number): void {
    const log = this._o.log;
    if (this._disposed) return void client.end();
    this._admission.helloSeen(rawIp, port);
    const ip = clientIp(rawIp);
    this._pending.add(client);
    const state: { login: string | null; subject: Subject | null; failures: number; live: Live | null } = { login: null, subject: null, failures: 0, live: null };
    const grace = setTimeout(() => disconnectWithMessage(client, DISCONNECT.BY_APPLICATION, 'nbgateway: authentication took too long'), LOGIN_GRACE_MS);
    grace.unref();

    client.on('authentication', ctx => {
      void this._authenticate(client, ctx, ip, state).catch(err => {
        log.error({ err }, 'ssh authentication failed unexpectedly');
        disconnectWithMessage(client, DISCONNECT.BY_APPLICATION, 'nbgateway: internal error; try again');
      });
    });
    client.on('ready', () => {
      clearTimeout(grace);
      this._pending.delete(client);
      this._admission.authenticated(rawIp, port);
      const live = state.live!;
      this._live.add(live);
      this._o.metrics?.sshSessionOpened();
      log.info({ user: live.principal.name, instance: live.instance.id, ip }, 'ssh connected');
      this._o.onAudit?.({ event: 'connect', user: { id: live.principal.userId, name: live.principal.name }, login: live.login, sourceIp: ip, instance: live.instance, keyFingerprint: live.key.fingerprint });
      this._serve(client, live, port);
    });
    client.on('error', err => log.debug({ err: err.message, ip }, 'ssh connection error'));
    client.on('close', () => {
      clearTimeout(grace);
      this._pending.delete(client);
      const live = state.live;
      if (live && this._live.delete(live)) {
        this._o.metrics?.sshSessionClosed();
        log.info({ user: live.principal.name, instance: live.instance.id, ip }, 'ssh disconnected');
        this._o.onAudit?.({
          event: 'disconnect', user: { id: live.principal.userId, name: live.principal.name }, login: live.login, sourceIp: ip,
          instance: live.instance, keyFingerprint: live.key.fingerprint, durationMs: Date.now() - live.since
        });
      }
    });
  }

  private async _authenticate(client: Connection, ctx: AuthContext, ip: string, state: { login: string | null; subject: Subject | null; failures: number; live: Live | null }): Promise<void> {
    const auth = this._o.auth;
    if (ctx.username !== state.login) {
      // First request, or the client changed its login name (allowed by RFC 4252).
      state.login = ctx.username;
      const login = parseLoginName(ctx.username);
      if (!login) {
        return disconnectWithMessage(client, DISCONNECT.ILLEGAL_USER_NAME, `nbgateway: "${ctx.username.slice(0, 80)}" is not a login name here; ${LOGIN_HELP}`);
      }
      state.subject = (await auth.identify(login)) ?? null;
      const subject = state.subject;
      if (subject?.instance && !auth.addressAllowed(subject, ip)) {
        this._o.onAudit?.({ event: 'refused', user: null, login: ctx.username, sourceIp: ip, instance: subject.instance, code: Errors.SSH_ADDRESS_REFUSED.code });
        return disconnectWithMessage(client, DISCONNECT.HOST_NOT_ALLOWED_TO_CONNECT, `nbgateway: connections from ${ip} to this instance are not allowed by its IP allow-list`);
      }
    }
    if (ctx.method !== 'publickey') {
      // `none` is how clients ask what is offered; it is not a failed attempt.
      if (ctx.method !== 'none') state.failures++;
      return this._reject(client, ctx, state.failures);
    }
    const subject = state.subject;
    const key = subject ? await auth.keyFor(subject, ctx.key.data) : undefined;
    if (!subject || !key) return this._reject(client, ctx, ++state.failures);
    if (!ctx.signature) return ctx.accept(); // "this key would do": the client signs next
    const parsed = utils.parseKey(key.publicKey);
    const verified = !(parsed instanceof Error) && (Array.isArray(parsed) ? parsed[0] : parsed).verify(ctx.blob!, ctx.signature, ctx.hashAlgo);
    if (!verified) return this._reject(client, ctx, ++state.failures);
    const admission = await auth.admit(subject, ip);
    if (!admission.ok) {
      this._o.onAudit?.({
        event: 'refused', user: { id: subject.user.id, name: subject.user.name }, login: ctx.username, sourceIp: ip,
        instance: subject.instance ?? null, keyFingerprint: key.fingerprint, code: admission.code
      });
      return disconnectWithMessage(client, DISCONNECT.BY_APPLICATION, `nbgateway: ${admission.message}`);
    }
    state.live = { client, ip, principal: admission.principal, instance: admission.instance, key, login: ctx.username, since: Date.now() };
    void this._o.keys.touch(key.id).catch(() => undefined);
    ctx.accept();
  }

  private _reject(client: Connection, ctx: AuthContext, failures: number): void {
    if (failures >= MAX_AUTH_TRIES) {
      return disconnectWithMessage(client, DISCONNECT.NO_MORE_AUTH_METHODS_AVAILABLE, 'nbgateway: too many authentication failures');
    }
    ctx.reject(['publickey']);
  }

  private _serve(client: Connection, live: Live, port: number): void {
    const sock = (client as unknown as { _sock?: { localAddress?: string; localPort?: number; remotePort?: number; cork(): void; uncork(): void } })._sock;
    let last = 0;
    const ctx: ChannelContext = {
      client,
      clientAddr: { ip: live.ip, port: sock?.remotePort ?? 0 },
      serverAddr: { ip: (sock?.localAddress ?? '').replace(/^::ffff:/, ''), port: sock?.localPort ?? port },
      resolve: () => this._o.auth.target(live.principal, live.instance, live.ip),
      onActivity: () => {
        const now = Date.now();
        if (now - last >= 1_000) {
          last = now;
          this._o.onActivity?.(live.instance.id);
        }
      },
      ...(sock ? { socket: sock } : {}),
      log: this._o.log.child({ instance: live.instance.id, user: live.principal.name })
    };
    client.on('session', accept => {
      ctx.onActivity();
      bridgeSession(accept(), ctx);
    });
    client.on('tcpip', (accept, reject, info) => {
      ctx.onActivity();
      void bridgeTcp(client, accept, reject, info, ctx).catch(err => ctx.log.warn({ err }, 'ssh forwarding failed'));
    });
    // Remote forwarding (-R) and streamlocal are not offered: nothing should listen for the
    // outside world on the gateway on a user's behalf.
    client.on('request', (_accept, reject) => reject?.());
  }

  /** Stops listening and disconnects everyone. Idempotent. */
  async dispose(): Promise<void> {
    if (this._disposed) return;
    this._disposed = true;
    const server = this._server;
    const listener = this._listener;
    for (const l of this._live) disconnectWithMessage(l.client, DISCONNECT.BY_APPLICATION, 'nbgateway: the gateway is shutting down; reconnect in a moment');
    for (const c of this._pending) c.end();
    if (!server || !listener) return;
    this._admission.destroyAll();
    const closed = new Promise<void>(resolve => listener.close(() => resolve()));
    // Clients that do not close their side within a moment are cut off.
    const cutOff = setTimeout(() => {
      for (const c of [...this._pending, ...[...this._live].map(l => l.client)]) (c as unknown as { _sock?: { destroy(): void } })._sock?.destroy();
    }, 2_000);
    await closed;
    clearTimeout(cutOff);
  }
}
