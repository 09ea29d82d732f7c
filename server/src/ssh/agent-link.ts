/**
 * Opens the WebSocket to an instance's agent that carries one SSH channel
 * (`<base>api/nbg/ssh/…`, see `agent-protocol.ts`).
 *
 * #### Notes
 * Frames from us to the agent use an all-zero mask. RFC 6455 masks client frames so that a
 * browser's traffic cannot poison caches in proxies between it and a server; this hop goes
 * from the gateway straight to the agent, with no browser and no proxy, and `ws` skips the
 * XOR pass for a zero mask on both ends, which saves a full pass over every uploaded byte.
 */
import WebSocket from 'ws';
import type { Endpoint } from '../drivers/driver';

/** Where a channel goes: the agent of a RUNNING instance. */
export interface AgentTarget {
  instanceId: string;
  endpoint: Endpoint;
  agentToken: string;
  /** The agent's base URL, `/notebooks/<id>/`. */
  baseUrl: string;
}

/** The agent answered the upgrade with an HTTP status instead of a WebSocket. */
export class AgentRefusedError extends Error {
  constructor(readonly status: number) {
    super(`the instance refused the channel (HTTP ${status})`);
    this.name = 'AgentRefusedError';
  }
}

const HANDSHAKE_TIMEOUT_MS = 10_000;

const zeroMask = (mask: Buffer): void => {
  mask.fill(0);
};

/**
 * @param path - relative to the agent's base URL, e.g. `api/nbg/ssh/session`.
 * @returns the socket, already listening (see `AgentLink`).
 * @throws AgentRefusedError, or the connection error (ECONNREFUSED…) when the agent is down.
 */
export function openAgentSocket(target: AgentTarget, path: string, query: Record<string, string> = {}): Promise<AgentLink> {
  const qs = new URLSearchParams(query).toString();
  const url = `ws://${target.endpoint.host.includes(':') ? `[${target.endpoint.host}]` : target.endpoint.host}:${target.endpoint.port}${target.baseUrl}${path}${qs ? `?${qs}` : ''}`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      headers: { Authorization: `token ${target.agentToken}` },
      perMessageDeflate: false,
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      maxPayload: 64 << 20,
      generateMask: zeroMask
    });
    ws.binaryType = 'nodebuffer';
    // Listening from the start: frames right behind the handshake arrive before any
    // continuation of this promise could attach a listener.
    const link = new AgentLink(ws);
    const onError = (err: Error): void => reject(err);
    ws.once('error', onError);
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      ws.removeListener('error', onError);
      ws.on('error', () => undefined);
      ws.terminate();
      reject(new AgentRefusedError(res.statusCode ?? 502));
    });
    ws.once('open', () => {
      ws.removeListener('error', onError);
      const socket = (ws as unknown as { _socket?: { setNoDelay(v: boolean): void } })._socket;
      socket?.setNoDelay(true);
      resolve(link);
    });
  });
}

/**
 * The agent's socket with an inbox: `ws` emits every frame of a TCP read synchronously, so
 * output right behind the first event would be lost between awaiting that event and
 * attaching the real listener. Frames wait here until `deliver()` takes over.
 */
export class AgentLink {
  private readonly _inbox: Array<[Buffer, boolean]> = [];
  private _deliver: ((data: Buffer, isBinary: boolean) => void) | null = null;
  private _wake: (() => void) | null = null;
  private _closed = false;
  private _closeCode = 1006;
  private readonly _onClose: Array<(code: number) => void> = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (this._deliver) this._deliver(data, isBinary);
      else {
        this._inbox.push([data, isBinary]);
        this._wake?.();
      }
    });
    ws.once('close', (code: number) => {
      this._closed = true;
      this._closeCode = code;
      this._wake?.();
      for (const fn of this._onClose.splice(0)) fn(code);
    });
    ws.on('error', () => undefined);
  }

  /** The first message, a JSON event (`started`, `connected`, `error`). */
  async first<T>(timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (this._inbox.length === 0) {
      if (this._closed) throw new Error('the instance closed the channel before it started');
      const left = deadline - Date.now();
      if (left <= 0) {
        this.ws.terminate();
        throw new Error(`the instance did not answer within ${timeoutMs / 1000} s`);
      }
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, left);
        this._wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this._wake = null;
    }
    const [data, isBinary] = this._inbox.shift()!;
    if (isBinary) throw new Error('unexpected data before the channel started');
    return JSON.parse(data.toString()) as T;
  }

  /** Calls `fn` with the close code once the socket closed (at once if it has). */
  onClose(fn: (code: number) => void): void {
    if (this._closed) fn(this._closeCode);
    else this._onClose.push(fn);
  }

  /** Hands every frame, queued ones first, to `fn` from now on. */
  deliver(fn: (data: Buffer, isBinary: boolean) => void): void {
    this._deliver = fn;
    for (const [data, isBinary] of this._inbox.splice(0)) fn(data, isBinary);
  }
}

/**
 * True for `/notebooks/<id>/api/nbg/ssh/…` in any spelling the agent would route (repeated
 * slashes, percent-encoding): those endpoints are for the SSH server only. Through the HTTP
 * proxy they would be a way around an instance's SSH settings (off, allow-list).
 */
export function isSshChannelPath(url: string | undefined): boolean {
  if (!url) return false;
  let segments: string[];
  try {
    segments = new URL(url, 'http://gateway').pathname.split('/').filter(Boolean).map(s => decodeURIComponent(s).toLowerCase());
  } catch {
    return false;
  }
  return segments[0] === 'notebooks' && segments[2] === 'api' && segments[3] === 'nbg' && segments[4] === 'ssh';
}
