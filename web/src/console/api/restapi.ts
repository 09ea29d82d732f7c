/**
 * A typed client of the gateway's REST API for the console (and any browser code).
 * Separates `ResponseError` (the server answered with an error body) from `NetworkError`
 * (it could not be reached), checks the exact expected status of each call, and treats a
 * 404 on DELETE as done (STYLE.md §13).
 *
 * #### Notes
 * Browsers authenticate with the httpOnly session cookie; unsafe requests echo the readable
 * `_xsrf` cookie in `X-XSRFToken` (the gateway's double-submit CSRF check, the same header
 * JupyterLab sends). API clients pass a bearer token instead.
 */
import type { NotebookInstance, Page, ImageInfo, FlavorInfo, LoginResponse, Health } from '../../../../server/src/api/types';
import type { AuditRecord } from '../../../../server/src/audit/audit';
import { readCookie, readEvents } from '../../../../extensions/lab-services/src/browser';
import type { CreateJobRequest, CreatedSshKey, CustomImage, InstanceSshInfo, Job, JobVersion, LeaseInfo, Me, Progress, SaveProgress, SshKey } from './wire';

export { readEvents };

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

  /** True when the route itself does not exist on this gateway (a feature not deployed). */
  get isMissingRoute(): boolean {
    return this.status === 404 && this.code === 'NB_ERR_NOT_FOUND';
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
  /** Reads a cookie (the `_xsrf` value); defaults to `document.cookie` in browsers. */
  cookie?: (name: string) => string | undefined;
}

export interface CreateInstanceBody {
  name: string;
  image: string;
  flavor?: string;
  description?: string;
  storage?: { type: 'local' | 'obs'; sizeGB: number };
  autoStop?: { timingHours?: number | null; idleMinutes?: number | null };
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const enc = encodeURIComponent;

export class InstanceAPIClient {
  private readonly _base: string;
  private readonly _fetch: typeof fetch;
  private readonly _cookie: (name: string) => string | undefined;

  constructor(private readonly _o: ClientOptions = {}) {
    this._base = (_o.baseUrl ?? '').replace(/\/$/, '');
    this._fetch = _o.fetch ?? globalThis.fetch.bind(globalThis);
    this._cookie = _o.cookie ?? (name => readCookie(name));
  }

  // ---- session ---------------------------------------------------------------------------

  health(): Promise<Health> {
    return this._call('GET', '/api/v1/health', [200]);
  }

  login(username: string, password: string): Promise<LoginResponse> {
    return this._call('POST', '/api/v1/auth/login', [200], { username, password });
  }

  async logout(): Promise<void> {
    await this._call('POST', '/api/v1/auth/logout', [204]);
  }

  me(): Promise<Me> {
    return this._call('GET', '/api/v1/me', [200]);
  }

  // ---- instances -------------------------------------------------------------------------

  listInstances(opts: { limit?: number; offset?: number; all?: boolean } = {}): Promise<Page<NotebookInstance>> {
    const q = new URLSearchParams();
    if (opts.limit !== undefined) q.set('limit', String(opts.limit));
    if (opts.offset !== undefined) q.set('offset', String(opts.offset));
    if (opts.all) q.set('all', 'true');
    return this._call('GET', `/api/v1/notebooks${q.size ? `?${q}` : ''}`, [200]);
  }

  getInstance(id: string): Promise<NotebookInstance> {
    return this._call('GET', `/api/v1/notebooks/${enc(id)}`, [200]);
  }

  createInstance(body: CreateInstanceBody): Promise<NotebookInstance> {
    return this._call('POST', '/api/v1/notebooks', [201], body);
  }

  updateInstance(id: string, body: { description?: string; flavor?: string }): Promise<NotebookInstance> {
    return this._call('PATCH', `/api/v1/notebooks/${enc(id)}`, [200], body);
  }

  startInstance(id: string): Promise<NotebookInstance> {
    return this._call('POST', `/api/v1/notebooks/${enc(id)}/start`, [202]);
  }

  stopInstance(id: string): Promise<NotebookInstance> {
    return this._call('POST', `/api/v1/notebooks/${enc(id)}/stop`, [202]);
  }

  async deleteInstance(id: string): Promise<void> {
    await this._call('DELETE', `/api/v1/notebooks/${enc(id)}`, [204, 404]);
  }

  progress(id: string): Promise<Progress> {
    return this._call('GET', `/api/v1/notebooks/${enc(id)}/progress`, [200]);
  }

  /** Renews the TIMING lease of a RUNNING instance (SPEC §6), optionally with a new period. */
  renewLease(id: string, timingHours?: number): Promise<LeaseInfo> {
    return this._call('POST', `/api/v1/notebooks/${enc(id)}/lease/renew`, [200], timingHours === undefined ? {} : { timingHours });
  }

  /** Sets the auto-stop rules; null turns one off. */
  setLease(id: string, autoStop: { timingHours?: number | null; idleMinutes?: number | null }): Promise<LeaseInfo> {
    return this._call('PUT', `/api/v1/notebooks/${enc(id)}/lease`, [200], autoStop);
  }

  instanceSsh(id: string): Promise<InstanceSshInfo> {
    return this._call('GET', `/api/v1/notebooks/${enc(id)}/ssh`, [200]);
  }

  setInstanceSsh(id: string, body: { enabled?: boolean; allowCidrs?: string[] }): Promise<InstanceSshInfo> {
    return this._call('PUT', `/api/v1/notebooks/${enc(id)}/ssh`, [200], body);
  }

  /** The URL of the instance's server-sent events (status changes, start progress). */
  eventsUrl(id: string): string {
    return `${this._base}/api/v1/notebooks/${enc(id)}/events`;
  }

  // ---- catalogue and images --------------------------------------------------------------

  images(): Promise<{ items: ImageInfo[] }> {
    return this._call('GET', '/api/v1/images', [200]);
  }

  flavors(): Promise<{ items: FlavorInfo[] }> {
    return this._call('GET', '/api/v1/flavors', [200]);
  }

  customImages(opts: { all?: boolean } = {}): Promise<{ items: CustomImage[] }> {
    return this._call('GET', `/api/v1/custom-images${opts.all ? '?all=true' : ''}`, [200]);
  }

  async deleteCustomImage(id: string): Promise<void> {
    await this._call('DELETE', `/api/v1/custom-images/${enc(id)}`, [204, 404]);
  }

  /**
   * Saves a RUNNING instance as an image, reporting progress as the gateway streams it.
   * @returns the new image once registered.
   */
  async saveImage(id: string, body: { name: string; tag?: string; description?: string }, onProgress?: (p: SaveProgress) => void): Promise<CustomImage> {
    const res = await this._send('POST', `/api/v1/notebooks/${enc(id)}/images`, body, { Accept: 'text/event-stream' });
    if (res.status !== 200 || !res.body) throw await this._error(res, 'POST', `/api/v1/notebooks/${id}/images`);
    let result: CustomImage | undefined;
    let failure: ResponseError | undefined;
    await readEvents(res.body, (event, data) => {
      if (event === 'progress') onProgress?.(data as SaveProgress);
      else if (event === 'result') result = data as CustomImage;
      else if (event === 'error') {
        const e = data as { status: number; code: string; message: string; details?: Record<string, unknown> };
        failure = new ResponseError(e.status, e.code, e.message, e.details);
      }
    });
    if (failure) throw failure;
    if (!result) throw new NetworkError(new Error('the save stream ended without a result'));
    return result;
  }

  // ---- training jobs ---------------------------------------------------------------------

  listJobs(opts: { limit?: number; offset?: number; all?: boolean } = {}): Promise<Page<Job>> {
    const q = new URLSearchParams();
    if (opts.all) q.set('all', 'true');
    if (opts.limit !== undefined) q.set('limit', String(opts.limit));
    if (opts.offset !== undefined) q.set('offset', String(opts.offset));
    return this._call('GET', `/api/v1/jobs${q.size ? `?${q}` : ''}`, [200]);
  }

  getJob(id: string): Promise<Job> {
    return this._call('GET', `/api/v1/jobs/${enc(id)}`, [200]);
  }

  createJob(body: CreateJobRequest): Promise<Job> {
    return this._call('POST', '/api/v1/jobs', [201], body);
  }

  jobVersions(id: string): Promise<{ items: JobVersion[] }> {
    return this._call('GET', `/api/v1/jobs/${enc(id)}/versions`, [200]);
  }

  /** Runs the job again with the latest version's configuration (a new version). */
  rerunJob(id: string): Promise<JobVersion> {
    return this._call('POST', `/api/v1/jobs/${enc(id)}/versions`, [201], {});
  }

  stopJobVersion(id: string, version: string): Promise<JobVersion> {
    return this._call('POST', `/api/v1/jobs/${enc(id)}/versions/${enc(version)}/stop`, [200, 202]);
  }

  async deleteJob(id: string): Promise<void> {
    await this._call('DELETE', `/api/v1/jobs/${enc(id)}`, [204, 404]);
  }

  /** What the instance's kernel gateway and kernels wrote (stdout and stderr), its last `tail` lines. */
  async instanceOutput(id: string, tail = 200): Promise<string> {
    const path = `/api/v1/notebooks/${enc(id)}/logs?tail=${tail}`;
    const res = await this._send('GET', path, undefined, { Accept: 'text/plain' });
    if (res.status !== 200) throw await this._error(res, 'GET', path.split('?')[0]!);
    return res.text();
  }

  /**
   * Log text of a version's task from byte `offset` on (for live tails).
   * @returns the text, where to continue, and the version's status when it was read.
   */
  async jobLog(id: string, version: string, offset = 0, task = 0): Promise<{ text: string; next: number; status: string | null }> {
    const path = `/api/v1/jobs/${enc(id)}/versions/${enc(version)}/logs?task=${task}&offset=${offset}`;
    const res = await this._send('GET', path, undefined, { Accept: 'text/plain' });
    if (res.status !== 200) throw await this._error(res, 'GET', path.split('?')[0]!);
    const text = await res.text();
    const next = Number(res.headers.get('x-log-next-offset') ?? offset + new TextEncoder().encode(text).length);
    return { text, next, status: res.headers.get('x-job-status') };
  }

  // ---- audit and keys --------------------------------------------------------------------

  audit(opts: { limit?: number; offset?: number; action?: string; actor?: string } = {}): Promise<Page<AuditRecord>> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(opts)) if (v !== undefined && v !== '') q.set(k, String(v));
    return this._call('GET', `/api/v1/audit${q.size ? `?${q}` : ''}`, [200]);
  }

  sshKeys(): Promise<{ items: SshKey[] }> {
    return this._call('GET', '/api/v1/ssh/keys', [200]);
  }

  /** Adds a public key, or without one generates an ed25519 pair (its private key comes back once). */
  addSshKey(name: string, publicKey?: string): Promise<CreatedSshKey> {
    return this._call('POST', '/api/v1/ssh/keys', [201], publicKey === undefined ? { name } : { name, publicKey });
  }

  async deleteSshKey(id: string): Promise<void> {
    await this._call('DELETE', `/api/v1/ssh/keys/${enc(id)}`, [204, 404]);
  }

  /** The `~/.ssh/config` block for all of the user's instances. */
  sshConfig(identityFile?: string): Promise<{ config: string; knownHosts: string; host: string; port: number }> {
    return this._call('GET', `/api/v1/ssh/config${identityFile ? `?identityFile=${enc(identityFile)}` : ''}`, [200]);
  }

  // ---- plumbing --------------------------------------------------------------------------

  private async _send(method: string, path: string, body?: unknown, extra: Record<string, string> = {}): Promise<Response> {
    const headers: Record<string, string> = { Accept: 'application/json', ...extra };
    if (this._o.token) headers.Authorization = `Bearer ${this._o.token}`;
    else if (UNSAFE.has(method)) {
      const xsrf = this._cookie('_xsrf');
      if (xsrf) headers['X-XSRFToken'] = xsrf;
    }
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    try {
      return await this._fetch(this._base + path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin'
      });
    } catch (err) {
      throw new NetworkError(err);
    }
  }

  private async _error(res: Response, method: string, path: string): Promise<ResponseError> {
    let data: { code?: string; message?: string; details?: Record<string, unknown> } = {};
    try {
      data = (await res.json()) as typeof data;
    } catch {
      /* not JSON */
    }
    return new ResponseError(res.status, data.code ?? 'NB_ERR_UNKNOWN', data.message ?? `${method} ${path} answered ${res.status}`, data.details);
  }

  private async _call<T>(method: string, path: string, expected: number[], body?: unknown): Promise<T> {
    const res = await this._send(method, path, body);
    if (!expected.includes(res.status)) throw await this._error(res, method, path.split('?')[0]!);
    if (res.status === 204 || res.status === 404) return undefined as T;
    return (await res.json()) as T;
  }
}
