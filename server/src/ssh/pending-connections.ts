/**
 * Admission of TCP connections to the SSH port before they authenticate (issue 11: slow
 * clients). ssh2 reports a connection only once the client's identification line arrived,
 * so a socket that never says hello would be held forever, and a global cap on
 * unauthenticated connections lets one address lock everybody else out. This sits in front
 * of ssh2 at the socket level:
 * - a socket must send its identification line within `helloTimeoutMs` (RFC 4253 §4.2: the
 *   client sends it at once; stock clients do so in the first round trip);
 * - at most `perAddress` unauthenticated sockets per client address, `total` in all (like
 *   OpenSSH's PerSourceMaxStartups and MaxStartups); beyond that a new socket is closed at once.
 * Once a connection authenticates it no longer counts.
 */
import type { Socket } from 'node:net';
import type { Logger } from '../logger';

export interface PendingConnectionLimits {
  perAddress: number;
  total: number;
  helloTimeoutMs: number;
}

interface Entry {
  socket: Socket;
  ip: string;
  hello: NodeJS.Timeout | null;
}

/** Normalises an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`) to the IPv4 form. */
export function clientIp(raw: string | undefined): string {
  return (raw ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
}

export class PendingConnections {
  /** Keyed by `ip|port`, which is how ssh2's connection info names the socket. */
  private readonly _byKey = new Map<string, Entry>();
  private readonly _perAddress = new Map<string, number>();

  constructor(private readonly _limits: PendingConnectionLimits, private readonly _log: Logger) {}

  get size(): number {
    return this._byKey.size;
  }

  /** Counts a fresh socket in, or closes it when its address (or everyone) is over the cap. */
  admit(socket: Socket): boolean {
    const ip = clientIp(socket.remoteAddress);
    const key = `${ip}|${socket.remotePort ?? 0}`;
    const fromIp = this._perAddress.get(ip) ?? 0;
    if (fromIp >= this._limits.perAddress || this._byKey.size >= this._limits.total) {
      this._log.warn({ ip, fromAddress: fromIp, total: this._byKey.size }, 'too many unauthenticated ssh connections; refusing one');
      socket.destroy();
      return false;
    }
    const hello = setTimeout(() => {
      this._log.info({ ip }, 'ssh client sent no identification in time; closing');
      socket.destroy();
    }, this._limits.helloTimeoutMs);
    hello.unref();
    const entry: Entry = { socket, ip, hello };
    this._byKey.set(key, entry);
    this._perAddress.set(ip, fromIp + 1);
    socket.once('close', () => this._release(key, entry));
    return true;
  }

  /** The client identified itself (ssh2's 'connection'): the login grace period takes over. */
  helloSeen(ip: string, port: number): void {
    const entry = this._byKey.get(`${clientIp(ip)}|${port}`);
    if (entry?.hello) {
      clearTimeout(entry.hello);
      entry.hello = null;
    }
  }

  /** The connection authenticated: it no longer counts against the caps. */
  authenticated(ip: string, port: number): void {
    const key = `${clientIp(ip)}|${port}`;
    const entry = this._byKey.get(key);
    if (entry) this._release(key, entry);
  }

  /** Closes every socket still waiting (shutdown). */
  destroyAll(): void {
    for (const [key, entry] of [...this._byKey]) {
      entry.socket.destroy();
      this._release(key, entry);
    }
  }

  private _release(key: string, entry: Entry): void {
    if (this._byKey.get(key) !== entry) return;
    if (entry.hello) clearTimeout(entry.hello);
    this._byKey.delete(key);
    const left = (this._perAddress.get(entry.ip) ?? 1) - 1;
    if (left > 0) this._perAddress.set(entry.ip, left);
    else this._perAddress.delete(entry.ip);
  }
}
