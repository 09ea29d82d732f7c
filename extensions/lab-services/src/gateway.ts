import { ServerConnection } from '@jupyterlab/services';
import { URLExt } from '@jupyterlab/coreutils';
import { readCookie, readEvents } from './browser';
import type { FlavorInfo, ImageInfo, NotebookInstance } from '../../../server/src/api/types';

/** An error answer of the gateway or the agent, with the message meant for people. */
export class GatewayError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string
  ) {
    super(message);
    this.name = 'GatewayError';
  }

  /** The route does not exist: the feature is not deployed on this gateway/agent yet. */
  get isMissingRoute(): boolean {
    return this.status === 404 && (this.code === 'NB_ERR_NOT_FOUND' || this.code === 'Not Found');
  }
}

async function toError(res: Response): Promise<GatewayError> {
  let body: { code?: string; message?: string; reason?: string } = {};
  try {
    body = (await res.json()) as typeof body;
  } catch {
    /* not JSON */
  }
  return new GatewayError(res.status, body.code ?? body.reason ?? res.statusText, body.message ?? `${res.status} ${res.statusText}`);
}

/**
 * Calls the gateway's REST API with the browser's session (cookie + the `_xsrf` echo the
 * gateway requires for writes).
 * @param path - relative to `/api/v1/`, e.g. `notebooks/abc/stop`.
 */
export async function gatewayRequest<T>(apiUrl: string, method: string, path: string, body?: unknown, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  if (!headers.has('Accept')) headers.set('Accept', 'application/json');
  if (body !== undefined) headers.set('Content-Type', 'application/json');
  const xsrf = readCookie('_xsrf');
  if (xsrf && method !== 'GET') headers.set('X-XSRFToken', xsrf);
  const res = await fetch(URLExt.join(apiUrl, path), { ...init, method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) throw await toError(res);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/** Calls the agent's platform API (`<base>api/nbg/<path>`) through the gateway's proxy. */
export async function agentRequest<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'api/nbg', path);
  const res = await ServerConnection.makeRequest(url, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: body === undefined ? {} : { 'Content-Type': 'application/json' } }, settings);
  if (!res.ok) throw await toError(res);
  return { status: res.status, body: (res.status === 204 ? undefined : await res.json()) as T };
}

/** Reads a `text/event-stream` response, calling `on(event, data)` per event. */
export function readEventStream(res: Response, on: (event: string, data: unknown) => void): Promise<void> {
  return readEvents(res.body!, on);
}

/** The gateway's wire types (`server/src/api/types.ts`), under JupyterLab's naming. */
export type IGatewayInstance = NotebookInstance;
export type IGatewayFlavor = FlavorInfo;
export type IGatewayImage = ImageInfo;

/** When an instance's TIMING lease ends (epoch ms), if it has one. */
export function leaseExpiry(inst: IGatewayInstance): number | null {
  const t = Date.parse(inst.autoStop?.expiresAt ?? '');
  return Number.isFinite(t) ? t : null;
}
