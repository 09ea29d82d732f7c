/**
 * The fetch helper every gateway test uses: a path on the gateway, an optional bearer token,
 * and an optional JSON body.
 */

export type ApiInit = RequestInit & { token?: string; json?: unknown };
export type ApiFetch = (path: string, init?: ApiInit) => Promise<Response>;

export function apiFetch(baseUrl: string): ApiFetch {
  return (path, init = {}) => {
    const headers = new Headers(init.headers);
    if (init.token) headers.set('Authorization', `Bearer ${init.token}`);
    let body = init.body;
    if (init.json !== undefined) {
      headers.set('Content-Type', 'application/json');
      body = JSON.stringify(init.json);
    }
    return fetch(baseUrl + path, { ...init, headers, body });
  };
}
