/**
 * The launcher's client of the gateway's job-agent API: JSON calls, file downloads and
 * uploads, each retried with exponential backoff and jitter until a deadline, so a task
 * rides out a gateway restart (the API URL is re-read from its file on every attempt:
 * a restarted gateway may listen elsewhere).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AGENT_API_PREFIX } from './protocol';

export interface AgentClientOptions {
  /** The API base URL (fallback when there is no file). */
  apiUrl?: string;
  /** A file holding the current API base URL. */
  apiFile?: string;
  token: string;
  /** How long one call keeps retrying before it gives up. */
  retryDeadlineMs: number;
  log: (message: string) => void;
}

/** The gateway answered with a refusal that retrying cannot fix (4xx). */
export class AgentRefusedError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'AgentRefusedError';
  }
}

/** What varies between attempts of one call (a stream body must be made anew each time). */
interface RequestParts {
  headers?: Record<string, string>;
  body?: RequestInit['body'];
  duplex?: 'half';
}

const RETRY_STATUSES = new Set([429, 502, 503, 504]);
const REQUEST_TIMEOUT_MS = 120_000;

export class AgentClient {
  constructor(private readonly _o: AgentClientOptions) {}

  async json<T>(method: string, path: string, body?: unknown, opts: { timeoutMs?: number } = {}): Promise<T> {
    const init = (): RequestParts =>
      body === undefined ? {} : { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
    const res = await this._call(method, path, init, opts.timeoutMs);
    const text = await res.text();
    return (text ? JSON.parse(text) : null) as T;
  }

  /** Streams `path`'s body into `dest` (through a temporary file rewritten on each attempt). */
  async download(path: string, dest: string): Promise<void> {
    await mkdir(dirname(dest), { recursive: true });
    const tmp = `${dest}.part`;
    await this._call('GET', path, () => ({}), REQUEST_TIMEOUT_MS, async res => {
      await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(tmp));
    });
    await rename(tmp, dest);
  }

  /** Streams a local file as the body of a PUT. */
  async upload(path: string, file: string): Promise<void> {
    const { size } = await stat(file);
    await this._call('PUT', path, () => ({
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) },
      body: Readable.toWeb(createReadStream(file)) as unknown as RequestInit['body'],
      duplex: 'half'
    }));
  }

  private async _base(): Promise<string> {
    if (this._o.apiFile) {
      const url = (await readFile(this._o.apiFile, 'utf8').catch(() => '')).trim();
      if (url) return url;
    }
    if (this._o.apiUrl) return this._o.apiUrl;
    throw new Error('no job-agent API URL: neither the API file nor the URL is set');
  }

  /**
   * One call with retries. `consume` reads the body inside the retry loop, so a connection
   * dropped mid-download is retried too.
   */
  private async _call(
    method: string,
    path: string,
    init: () => RequestParts,
    timeoutMs = REQUEST_TIMEOUT_MS,
    consume?: (res: Response) => Promise<void>
  ): Promise<Response> {
    const deadline = Date.now() + this._o.retryDeadlineMs;
    for (let attempt = 0; ; attempt++) {
      let problem: string;
      try {
        const { headers, ...rest } = init();
        const res = await fetch(`${await this._base()}${AGENT_API_PREFIX}${path}`, {
          method,
          ...rest,
          headers: { ...headers, Authorization: `Bearer ${this._o.token}` },
          signal: AbortSignal.timeout(timeoutMs)
        } as RequestInit);
        if (res.ok) {
          if (consume) await consume(res);
          return res;
        }
        const text = await res.text().catch(() => '');
        let message = text;
        try {
          message = (JSON.parse(text) as { message?: string }).message ?? text;
        } catch {
          /* not JSON */
        }
        if (!RETRY_STATUSES.has(res.status) && res.status < 500) throw new AgentRefusedError(res.status, message || `HTTP ${res.status}`);
        problem = `HTTP ${res.status} ${message}`.trim();
      } catch (err) {
        if (err instanceof AgentRefusedError) throw err;
        problem = (err as Error).message;
      }
      if (Date.now() >= deadline) throw new Error(`${method} ${path} failed: ${problem} (gave up after ${Math.round(this._o.retryDeadlineMs / 1000)} s)`);
      const delay = Math.min(5_000, 200 * 2 ** Math.min(attempt, 10)) * (0.5 + Math.random() / 2);
      if (attempt === 0 || attempt % 5 === 4) this._o.log(`${method} ${path}: ${problem}; retrying`);
      await new Promise(r => setTimeout(r, Math.min(delay, Math.max(0, deadline - Date.now()))));
    }
  }
}
