/**
 * Resolves who sent a request: `Authorization: Bearer|token <t>`, the session cookie, or, on
 * proxy paths only, `?token=<t>` (WebSockets opened by `@jupyterlab/services` carry it there).
 *
 * #### Notes
 * Cookie-authenticated requests are what CSRF attacks ride on, so for them:
 * - unsafe methods and WebSocket handshakes must come from this gateway's origin (when the
 *   browser says where it comes from), and
 * - unsafe methods must echo the `_xsrf` cookie in `X-XSRFToken` (double submit; the value
 *   is derived from the session, so a planted cookie does not help). JupyterLab sends that
 *   header by itself when the cookie exists; WebSockets cannot carry headers and rely on
 *   the Origin check, which browsers always send on handshakes.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Errors } from '../errors';
import type { UserStore } from './user-store';
import { SESSION_COOKIE, XSRF_COOKIE, type Principal } from './principal';

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export class Authenticator {
  constructor(private readonly _users: UserStore) {}

  /**
   * @throws UNAUTHENTICATED when no valid credential is presented, TOKEN_EXPIRED, FORBIDDEN
   *   for a cookie-authenticated request from another site, or CSRF.
   */
  async authenticate(req: IncomingMessage, opts: { allowQueryToken?: boolean; url?: URL; websocket?: boolean } = {}): Promise<Principal> {
    const header = req.headers.authorization;
    let token: string | undefined;
    let cookie = false;
    if (header) {
      const m = /^(?:bearer|token)\s+(\S+)$/i.exec(header.trim());
      if (!m) throw Errors.UNAUTHENTICATED();
      token = m[1];
    } else if (opts.allowQueryToken && opts.url?.searchParams.get('token')) {
      token = opts.url.searchParams.get('token')!;
    } else {
      token = readCookie(req.headers.cookie, SESSION_COOKIE);
      cookie = token !== undefined;
      if (cookie) {
        const unsafe = UNSAFE.has(req.method ?? 'GET') && !opts.websocket;
        if ((opts.websocket || unsafe) && !isSameOrigin(req)) {
          throw Errors.FORBIDDEN('cross-site request refused: the Origin does not match this gateway');
        }
        if (unsafe && !xsrfMatches(req, token!)) throw Errors.CSRF();
      }
    }
    if (!token) throw Errors.UNAUTHENTICATED();
    const found = await this._users.resolveToken(token);
    if (found === 'expired') throw Errors.TOKEN_EXPIRED();
    if (!found) throw Errors.UNAUTHENTICATED();
    const via: Principal['via'] = cookie ? 'cookie' : found.kind === 'session' ? 'session-token' : 'api-token';
    return { userId: found.user.id, name: found.user.name, role: found.user.role, via, tokenId: found.tokenId, scope: found.scope };
  }
}

/** The `_xsrf` value of a session: derived, so it needs no storage and cannot be planted. */
export function xsrfTokenFor(sessionToken: string): string {
  return createHash('sha256').update(`nbg-xsrf\u0000${sessionToken}`).digest('base64url');
}

function xsrfMatches(req: IncomingMessage, sessionToken: string): boolean {
  const raw = req.headers['x-xsrftoken'] ?? req.headers['x-csrf-token'];
  const sent = Array.isArray(raw) ? raw[0] : raw;
  if (!sent) return false;
  const want = Buffer.from(xsrfTokenFor(sessionToken));
  const got = Buffer.from(sent);
  return got.length === want.length && timingSafeEqual(got, want);
}

/** Reads one cookie from a Cookie header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  let found: string | undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    // The last one wins, as in JupyterLab's getCookie and Python's SimpleCookie.
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        found = decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        found = undefined;
      }
    }
  }
  return found;
}

/** The Set-Cookie values that sign a browser in (session: httpOnly; `_xsrf`: readable). */
export function sessionCookies(token: string, maxAgeSeconds: number, secure: boolean): string[] {
  const flags = `Path=/; SameSite=Lax; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
  return [`${SESSION_COOKIE}=${token}; HttpOnly; ${flags}`, `${XSRF_COOKIE}=${xsrfTokenFor(token)}; ${flags}`];
}

/** The Set-Cookie values that sign a browser out. */
export function clearedSessionCookies(secure: boolean): string[] {
  const flags = `Path=/; SameSite=Lax; Max-Age=0${secure ? '; Secure' : ''}`;
  return [`${SESSION_COOKIE}=; HttpOnly; ${flags}`, `${XSRF_COOKIE}=; ${flags}`];
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
