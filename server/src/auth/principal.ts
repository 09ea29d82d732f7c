/**
 * Who is making a request.
 */

export type Role = 'admin' | 'user';

export interface Principal {
  userId: string;
  name: string;
  role: Role;
  /** How the request authenticated; cookie sessions need CSRF/origin checks. */
  via: 'api-token' | 'session-token' | 'cookie';
}

/** The name of the session cookie. */
export const SESSION_COOKIE = 'nbg_session';
