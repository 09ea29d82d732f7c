/**
 * Opaque bearer tokens. Only a SHA-256 hash is stored; the token is shown once.
 * Format: `nbg_<kind letter>_<43 chars base64url>` so leaked tokens are recognisable.
 */
import { createHash, randomBytes } from 'node:crypto';

export type TokenKind = 'api' | 'session';

export function newToken(kind: TokenKind): string {
  return `nbg_${kind === 'api' ? 'a' : 's'}_${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
