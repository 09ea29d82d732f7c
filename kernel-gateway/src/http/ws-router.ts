/**
 * The WebSocket route table: upgrade handlers registered by path pattern, the way `Router`
 * does for HTTP, so each area (kernel channels, terminals, SSH channels, events) plugs in
 * with one `ws.add(pattern, handler)` line.
 *
 * #### Notes
 * - One `ws` server (noServer) accepts every upgrade; the subprotocol is chosen from the
 *   matched route's own list, so kernel channels can speak `v1.kernel.websocket.jupyter.org`
 *   while terminals speak none.
 * - A handler may throw a `JupyterError` before calling `accept()`: the client gets the raw
 *   `HTTP/1.1 <status>` answer (a browser sees the failed handshake), nothing is upgraded.
 * - Authentication happens before dispatch, in the composition root.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { JupyterError } from '../errors';
import type { Logger } from '../logger';
import { compilePattern, matchPattern, splitPath, type Params, type Pattern } from './router';

/** What an upgrade handler gets. */
export interface UpgradeRequest {
  readonly req: IncomingMessage;
  readonly url: URL;
  readonly params: Params;
  /** Completes the handshake. Call it at most once, after any checks that may refuse. */
  accept(): Promise<WebSocket>;
}

export type UpgradeHandler = (upgrade: UpgradeRequest) => void | Promise<void>;

export interface WsRouteOptions {
  /** Subprotocols this route speaks, most preferred first; none by default. */
  protocols?: readonly string[];
}

interface WsRoute {
  pattern: Pattern;
  handler: UpgradeHandler;
  protocols: readonly string[];
}

/** How long clients get to answer the close handshake at shutdown. */
const CLOSE_GRACE_MS = 1_000;

const REASONS: Record<number, string> = {
  400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 500: 'Internal Server Error', 503: 'Service Unavailable'
};

export class WsRouter {
  private readonly _routes: WsRoute[] = [];
  /** The route each in-flight handshake matched, for subprotocol selection. */
  private readonly _pending = new WeakMap<IncomingMessage, WsRoute>();
  private readonly _wss: WebSocketServer;
  private _disposed = false;

  /**
   * @param maxPayload - largest WebSocket message accepted on any route, in bytes.
   */
  constructor(
    private readonly _log: Logger,
    maxPayload: number
  ) {
    this._wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload,
      handleProtocols: (offered, req) => {
        const route = this._pending.get(req);
        return route?.protocols.find(p => offered.has(p)) ?? false;
      }
    });
  }

  /** Registers an upgrade handler for a path pattern relative to the base URL. */
  add(pattern: string, handler: UpgradeHandler, opts: WsRouteOptions = {}): this {
    this._routes.push({ pattern: compilePattern(pattern), handler, protocols: opts.protocols ?? [] });
    return this;
  }

  /** Number of open WebSockets on every route. */
  get connections(): number {
    return this._wss.clients.size;
  }

  /**
   * Dispatches one upgrade request.
   * @param relPath - the request path relative to the base URL.
   * @returns false when no route matches (the caller answers 404).
   */
  async handle(relPath: string, url: URL, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<boolean> {
    const parts = splitPath(relPath);
    let route: WsRoute | undefined;
    let params: Params | null = null;
    try {
      for (const r of this._routes) {
        params = matchPattern(r.pattern, parts);
        if (params) {
          route = r;
          break;
        }
      }
    } catch (err) {
      refuse(socket, err instanceof JupyterError ? err.status : 400);
      return true;
    }
    if (!route || !params) return false;
    let accepted = false;
    const accept = (): Promise<WebSocket> => {
      if (accepted) throw new Error('accept() called twice for one upgrade');
      if (this._disposed) throw new JupyterError(503, 'the server is shutting down');
      accepted = true;
      this._pending.set(req, route);
      return new Promise(resolve =>
        this._wss.handleUpgrade(req, socket, head, ws => {
          // A client breaking the protocol (bad frame, bad UTF-8, over maxPayload) makes `ws`
          // close the connection and emit 'error'; unheard, that error would end the process
          // and every kernel with it.
          ws.on('error', err => this._log.warn('WebSocket closed on a protocol error', { path: url.pathname, reason: err.message }));
          resolve(ws);
        })
      );
    };
    try {
      await route.handler({ req, url, params, accept });
      if (!accepted) refuse(socket, 404);
    } catch (err) {
      const status = err instanceof JupyterError ? err.status : 500;
      if (status >= 500) this._log.error('upgrade failed', { err, path: url.pathname });
      if (!accepted) refuse(socket, status);
    }
    return true;
  }

  /** Closes every WebSocket (1001 going away) and the server. Idempotent. */
  async dispose(): Promise<void> {
    if (this._disposed) return;
    this._disposed = true;
    const closed = new Promise<void>(resolve => this._wss.close(() => resolve()));
    for (const ws of this._wss.clients) ws.close(1001, 'server shutting down');
    // Clients that do not answer the close handshake within a moment are cut off.
    const grace = setTimeout(() => {
      for (const ws of this._wss.clients) ws.terminate();
    }, CLOSE_GRACE_MS);
    await closed;
    clearTimeout(grace);
  }
}

/** Answers an upgrade request with a plain HTTP status and closes the socket. */
export function refuse(socket: Duplex, status: number): void {
  if (socket.destroyed) return;
  const reason = REASONS[status] ?? 'Error';
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
