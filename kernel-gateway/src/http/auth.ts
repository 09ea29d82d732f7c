/**
 * Token authentication, as Jupyter Server accepts it: `Authorization: token <t>` (also
 * `Bearer`), or `?token=<t>` (WebSockets from browsers cannot set headers).
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export function presentedToken(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers.authorization;
  if (header) {
    const m = /^(?:token|bearer)\s+(\S+)$/i.exec(header.trim());
    if (m) return m[1];
  }
  return url.searchParams.get('token') ?? undefined;
}

/** Constant-time comparison of the presented token against the configured one. */
export function isAuthorized(expected: string, req: IncomingMessage, url: URL): boolean {
  if (!expected) return true;
  const got = presentedToken(req, url);
  if (!got) return false;
  // Hash both sides so the comparison is constant-time regardless of length.
  const a = createHash('sha256').update(got).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
