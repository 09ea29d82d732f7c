/**
 * A typed client of the gateway's REST API for the console (and any browser code).
 * Separates `ResponseError` (the server answered with an error body) from `NetworkError`
 * (it could not be reached), checks the exact expected status of each call, and treats a
 * 404 on DELETE as done (STYLE.md §13).
 */
import type { NotebookInstance, Page, ImageInfo, FlavorInfo, LoginResponse, Health } from '../../../../server/src/api/types';

/** The server answered with an error body `{ error, code, message, details? }`. */
export class ResponseError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>
  ) {
    super(message);
    this.name = 'ResponseError';
  }
}

/** The request did not get an answer (offline, gateway down). */
export class NetworkError extends Error {
  constructor(cause: unknown) {
    super(`cannot reach the gateway: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'NetworkError';
  }
}

export interface ClientOptions {
  /** Gateway origin, e.g. `https://nb.example.com`; empty for same-origin. */
  baseUrl?: string;
  /** Bearer token; browsers use the session cookie instead. */
  token?: string;
  fetch?: typeof fetch;
}

export class InstanceAPIClient {
  private readonly _base: string;
  private readonly _fetch: typeof fetch;

  constructor(private readonly _o: ClientOptions = {}) {
    this._base = (_o.baseUrl ?? '').replace(/\/$/, '');
    this._fetch = _o.fetch ?? globalThis.fetch.bind(globalThis);
  }

  health(): Promise<Health> {
    return this._call('GET', '/api/v1/health', [200]);
  }

  login(username: string, password: string): Promise<LoginResponse> {
    return this._call('POST', '/api/v1/auth/login', [200], { username, password });
  }

  async logout(): Promise<void> {
    await this._call('POST', '/api/v1/auth/logout', [204]);
  }

  listInstances(opts: { limit?: number; offset?: number } = {}): Promise<Page<NotebookInstance>> {
    const q = new URLSearchParams();
    if (opts.limit !== undefined) q.set('limit', String(opts.limit));
    if (opts.offset !== undefined) q.set('offset', String(opts.offset));
    return this._call('GET', `/api/v1/notebooks${q.size ? `?${q}` : ''}`, [200]);
  }

  getInstance(id: string): Promise<NotebookInstance> {
    return this._call('GET', `/api/v1/notebooks/${encodeURIComponent(id)}`, [200]);
  }

  createInstance(body: { name: string; image: string; flavor?: string; description?: string; storage?: { type: 'local' | 'obs'; sizeGB: number } }): Promise<NotebookInstance> {
    return this._call('POST', '/api/v1/notebooks', [201], body);
  }

  startInstance(id: string): Promise<NotebookInstance> {
    return this._call('POST', `/api/v1/notebooks/${encodeURIComponent(id)}/start`, [202]);
  }

  stopInstance(id: string): Promise<NotebookInstance> {
    return this._call('POST', `/api/v1/notebooks/${encodeURIComponent(id)}/stop`, [202]);
  }

  async deleteInstance(id: string): Promise<void> {
    await this._call('DELETE', `/api/v1/notebooks/${encodeURIComponent(id)}`, [204, 404]);
  }

  images(): Promise<{ items: ImageInfo[] }> {
    return this._call('GET', '/api/v1/images', [200]);
  }

  flavors(): Promise<{ items: FlavorInfo[] }> {
    return this._call('GET', '/api/v1/flavors', [200]);
  }

  private async _call<T>(method: string, path: string, expected: number[], body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (this._o.token) headers.Authorization = `Bearer ${this._o.token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res: Response;
    try {
      res = await this._fetch(this._base + path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin'
      });
    } catch (err) {
      throw new NetworkError(err);
    }
    if (!expected.includes(res.status)) {
      let data: { code?: string; message?: string; details?: Record<string, unknown> } = {};
      try {
        data = (await res.json()) as typeof data;
      } catch {
        /* not JSON */
      }
      throw new ResponseError(res.status, data.code ?? 'NB_ERR_UNKNOWN', data.message ?? `${method} ${path} answered ${res.status}`, data.details);
    }
    if (res.status === 204 || res.status === 404) return undefined as T;
    return (await res.json()) as T;
  }
}
