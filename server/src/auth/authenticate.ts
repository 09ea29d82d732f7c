/**
 * Resolves who sent a request: `Authorization: Bearer|token <t>`, the session cookie, or, on
 * proxy paths only, `?token=<t>` (WebSockets opened by `@jupyterlab/services` carry it there).
 */
import type { IncomingMessage } from 'node:http';
import { Errors } from '../errors';
import type { UserStore } from './user-store';
import { SESSION_COOKIE, type Principal } from './principal';

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export class Authenticator {
  constructor(private readonly _users: UserStore) {}

  /**
   * @throws UNAUTHENTICATED when no valid credential is presented, TOKEN_EXPIRED, or
   *   FORBIDDEN for a cookie-authenticated request from another site.
   */
  async authenticate(req: IncomingMessage, opts: { allowQueryToken?: boolean; url?: URL; websocket?: boolean } = {}): Promise<Principal> {
    const header = req.headers.authorization;
    let token: string | undefined;
    let via: Principal['via'] = 'api-token';
    if (header) {
      const m = /^(?:bearer|token)\s+(\S+)$/i.exec(header.trim());
      if (!m) throw Errors.UNAUTHENTICATED();
      token = m[1];
    } else if (opts.allowQueryToken && opts.url?.searchParams.get('token')) {
      token = opts.url.searchParams.get('token')!;
    } else {
      token = readCookie(req.headers.cookie, SESSION_COOKIE);
      via = 'cookie';
      if (token && (opts.websocket || UNSAFE.has(req.method ?? 'GET')) && !isSameOrigin(req)) {
        throw Errors.FORBIDDEN('cross-site request refused: the Origin does not match this gateway');
      }
    }
    if (!token) throw Errors.UNAUTHENTICATED();
    const found = await this._users.resolveToken(token);
    if (found === 'expired') throw Errors.TOKEN_EXPIRED();
    if (!found) throw Errors.UNAUTHENTICATED();
    if (via !== 'cookie') via = found.kind === 'session' ? 'session-token' : 'api-token';
    return { userId: found.user.id, name: found.user.name, role: found.user.role, via };
  }
}

/** Reads one cookie from a Cookie header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

/**
 * True when the request's Origin (or Referer) is this gateway's own host. Requests without
 * either header (curl, same-origin navigations in old browsers) are allowed: browsers always
 * send Origin on cross-site POSTs and WebSocket handshakes.
 */
export function isSameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin ?? req.headers.referer;
  if (!origin || origin === 'null') return origin === undefined;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}
