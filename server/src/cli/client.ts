/**
 * The REST client the CLI uses: JSON in and out, the error body as an `ApiError`, and the
 * instance event stream (SSE).
 */
import { randomUUID } from 'node:crypto';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly _token: string | undefined
  ) {}

  private _headers(extra: Record<string, string> = {}): Record<string, string> {
    return { Accept: 'application/json', ...(this._token ? { Authorization: `Bearer ${this._token}` } : {}), ...extra };
  }

  /**
   * Sends a request and parses the JSON answer.
   * @throws ApiError for error answers; a network failure as a plain Error naming the URL.
   */
  async request<T>(method: string, path: string, opts: { json?: unknown; headers?: Record<string, string> } = {}): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.baseUrl + path, {
        method,
        headers: this._headers({ ...(opts.json !== undefined ? { 'Content-Type': 'application/json' } : {}), ...opts.headers }),
        ...(opts.json !== undefined ? { body: JSON.stringify(opts.json) } : {})
      });
    } catch (err) {
      throw new Error(`cannot reach ${this.baseUrl}: ${((err as Error).cause as Error | undefined)?.message ?? (err as Error).message}`);
    }
    const text = await res.text();
    if (!res.ok) {
      let body: { code?: string; message?: string; details?: Record<string, unknown> } = {};
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        /* not our error shape */
      }
      throw new ApiError(res.status, body.code ?? `HTTP_${res.status}`, body.message ?? (text.trim() || res.statusText), body.details);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  /** A GET whose answer is text (logs). @throws ApiError */
  async text(path: string): Promise<string> {
    const res = await fetch(this.baseUrl + path, { headers: this._headers({ Accept: 'text/plain, application/json' }) });
    const text = await res.text();
    if (!res.ok) {
      let body: { code?: string; message?: string } = {};
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        /* not our error shape */
      }
      throw new ApiError(res.status, body.code ?? `HTTP_${res.status}`, body.message ?? (text.trim() || res.statusText));
    }
    return text;
  }

  /** A create, retried once on a network failure with the same Idempotency-Key. */
  async create<T>(path: string, json: unknown): Promise<T> {
    const headers = { 'Idempotency-Key': randomUUID() };
    try {
      return await this.request<T>('POST', path, { json, headers });
    } catch (err) {
      if (err instanceof ApiError) throw err;
      return this.request<T>('POST', path, { json, headers });
    }
  }

  /**
   * Reads a server-sent event stream (a GET, or the answer of `init.method` with a JSON body)
   * until `onEvent` returns true or the stream ends.
   * @returns whether `until` was satisfied.
   */
  async events(path: string, onEvent: (e: SseEvent) => boolean | void, signal?: AbortSignal, init: { method?: string; json?: unknown } = {}): Promise<boolean> {
    const res = await fetch(this.baseUrl + path, {
      method: init.method ?? 'GET',
      headers: this._headers({ Accept: 'text/event-stream', ...(init.json !== undefined ? { 'Content-Type': 'application/json' } : {}) }),
      ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}),
      ...(signal ? { signal } : {})
    });
    if (!res.ok || !res.body) {
      const text = await res.text();
      let body: { code?: string; message?: string } = {};
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        /* ignore */
      }
      throw new ApiError(res.status, body.code ?? `HTTP_${res.status}`, body.message ?? res.statusText);
    }
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return false;
        buf += decoder.decode(value, { stream: true });
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data && onEvent({ event, data: JSON.parse(data) as Record<string, unknown> }) === true) return true;
        }
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
  }
}
