/**
 * The HTTP server of the kernel gateway: base-URL handling, token check, dispatch to the
 * HTTP and WebSocket route tables, the one error mapping (Jupyter's dialect), and a
 * socket-tracking close (STYLE.md §12, §17).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { JupyterError } from '../errors';
import type { Logger } from '../logger';
import { isAuthorized } from './auth';
import { sendJson } from './respond';
import type { ActivityKind, Router } from './router';
import { refuse, type WsRouter } from './ws-router';

/** The two route tables every area registers into. */
export interface RouteTables {
  readonly http: Router;
  readonly ws: WsRouter;
}

export interface HttpServerOptions {
  baseUrl: string;
  /** Empty disables authentication. */
  token: string;
  routes: RouteTables;
  log: Logger;
  /** Called for each authenticated request (after it succeeded, for HTTP). */
  onActivity(kind: ActivityKind): void;
}

export interface HttpServer {
  readonly server: Server;
  listen(port: number, host: string): Promise<number>;
  /** Stops accepting, destroys open sockets. Idempotent. */
  dispose(): Promise<void>;
}

export function createHttpServer(opts: HttpServerOptions): HttpServer {
  const { baseUrl, token, routes, log } = opts;
  const root = baseUrl.slice(0, -1);
  const relative = (url: URL): string | null =>
    url.pathname === root || url.pathname.startsWith(baseUrl) ? url.pathname.slice(baseUrl.length) : null;

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://kg');
    const t0 = performance.now();
    // Level by outcome (STYLE.md §15); reads are what pollers repeat, so they stay at debug.
    // The path is logged without its query: tokens may travel there.
    res.once('finish', () => {
      const status = res.statusCode;
      const fields = { method: req.method, path: url.pathname, status, ms: Math.round(performance.now() - t0) };
      if (status >= 500) log.error('request', fields);
      else if (status >= 400) log.warn('request', fields);
      else if (req.method === 'GET' || req.method === 'HEAD') log.debug('request', fields);
      else log.info('request', fields);
    });
    try {
      const rel = relative(url);
      if (rel === null) throw new JupyterError(404, `Not found: ${url.pathname}`);
      if (!isAuthorized(token, req, url)) throw new JupyterError(403, 'Forbidden: a valid token is required');
      const match = routes.http.match(req.method ?? 'GET', rel);
      if (match.kind === 'not-found') throw new JupyterError(404, `Not found: ${url.pathname}`);
      if (match.kind === 'method-not-allowed') {
        throw new JupyterError(405, `Method ${req.method} not allowed on ${url.pathname}; allowed: ${match.allowed.join(', ')}`);
      }
      await match.handler(req, res, match.params, url);
      // jupyter_server's `no_track_activity` lets pollers read without counting as use.
      if (!url.searchParams.has('no_track_activity')) opts.onActivity(match.activity);
    } catch (err) {
      respondError(req, res, url, err);
    }
  }

  function respondError(req: IncomingMessage, res: ServerResponse, url: URL, err: unknown): void {
    const e = toJupyterError(err);
    if (e.status >= 500) log.error('request failed', { method: req.method, path: url.pathname, err });
    else log.debug('request refused', { method: req.method, path: url.pathname, message: e.message });
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendJson(res, e.status, e.toBody());
  }

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://kg');
    // A client resetting the connection mid-handshake must not become an uncaught error.
    socket.on('error', err => log.debug('upgrade socket error', { path: url.pathname, reason: err.message }));
    const rel = relative(url);
    if (rel === null) return refuse(socket, 404);
    if (!isAuthorized(token, req, url)) return refuse(socket, 403);
    opts.onActivity('active');
    void routes.ws.handle(rel, url, req, socket, head).then(
      handled => {
        if (!handled) refuse(socket, 404);
      },
      err => {
        log.error('upgrade failed', { path: url.pathname, err });
        refuse(socket, 500);
      }
    );
  }

  const server = createServer({ keepAliveTimeout: 30_000, headersTimeout: 20_000, requestTimeout: 0 }, (req, res) => {
    void onRequest(req, res);
  });
  server.on('upgrade', onUpgrade);
  const sockets = new Set<Socket>();
  server.on('connection', s => {
    // Kernel messages are small and latency-bound: never wait for Nagle.
    s.setNoDelay(true);
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });

  let disposed: Promise<void> | null = null;
  return {
    server,
    async listen(port, host) {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      return (server.address() as AddressInfo).port;
    },
    dispose() {
      disposed ??= new Promise<void>(resolve => {
        if (!server.listening) {
          for (const s of sockets) s.destroy();
          resolve();
          return;
        }
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      return disposed;
    }
  };
}

/**
 * Maps anything thrown by a handler to a Jupyter error: our own errors keep their status;
 * filesystem errors become 404/403/409/400 with a message naming the problem; the rest is 500.
 */
export function toJupyterError(err: unknown): JupyterError {
  if (err instanceof JupyterError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const message = (err as Error | undefined)?.message ?? String(err);
  switch (code) {
    case 'ENOENT': return new JupyterError(404, 'No such file or directory');
    case 'EACCES':
    case 'EPERM': return new JupyterError(403, 'Permission denied');
    case 'EEXIST': return new JupyterError(409, 'File already exists');
    case 'ENOTDIR': return new JupyterError(400, 'A path component is not a directory');
    case 'EISDIR': return new JupyterError(400, 'Is a directory');
    case 'ENOTEMPTY': return new JupyterError(400, 'Directory not empty');
    case 'ENOSPC': return new JupyterError(507, 'No space left on the device');
    case 'EDQUOT': return new JupyterError(507, 'Disk quota exceeded');
    case 'ENAMETOOLONG': return new JupyterError(400, 'File name too long');
    default: return new JupyterError(500, message);
  }
}
