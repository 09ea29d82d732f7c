/**
 * Who is making a request.
 */

export type Role = 'admin' | 'user';

export interface Principal {
  userId: string;
  name: string;
  role: Role;
  /** How the request authenticated; cookie sessions need CSRF/origin checks. */
  via: 'api-token' | 'session-token' | 'cookie' | 'ssh';
  /**
   * Action patterns an API token is limited to (`notebook:*`, `notebook:get`); absent or
   * null for sessions and unscoped tokens. Scoped tokens cannot manage tokens, users or
   * passwords.
   */
  scope?: readonly string[] | null;
  /** The token's id, so "revoke the others" can keep the current session. */
  tokenId?: string;
  /** Invite-only flavors granted to the user; loaded where a flavor is chosen. */
  flavorGrants?: readonly string[];
}

/** The name of the session cookie. */
export const SESSION_COOKIE = 'nbg_session';

/** The double-submit CSRF cookie JupyterLab echoes in `X-XSRFToken` (readable by scripts). */
export const XSRF_COOKIE = '_xsrf';
