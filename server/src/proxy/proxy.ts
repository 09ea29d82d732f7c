/**
 * The instance proxy: `/notebooks/<id>/…` over HTTP and WebSocket to the instance's agent,
 * for its owner only (CHP's job, without the separate process).
 *
 * #### Notes
 * - The path is forwarded unchanged: agents serve under their base URL, so redirects and
 *   resource URLs they produce are already right for the browser.
 * - The user's credentials never reach the instance: the session cookie and a `?token=`
 *   query are stripped, and the agent's own token is put in `Authorization`.
 * - WebSockets are spliced at the socket level after the handshake: no per-message work.
 */
import { request as httpRequest, Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { Logger } from '../logger';
import { loggableUrl } from '../logger';

import { refuseUpgrade, sendError, toHttpError } from '../api/error-handler';
import type { OpenTarget } from '../instances/instance';
import { SESSION_COOKIE } from '../auth/principal';

/** `/notebooks/<id>` and `/notebooks/<id>/…` */
const PREFIX = /^\/notebooks\/([a-z0-9]{1,64})(\/|$)/;

/** Hop-by-hop headers (RFC 9110 §7.6.1) and ones we set ourselves. */
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'authorization', 'host']);

export interface ProxyOptions {
  /** Resolves the target for an authenticated request, or throws an HttpError (404, 409, 401). */
  resolve: (req: IncomingMessage, instanceId: string, url: URL) => Promise<OpenTarget>;
  /** Called for proxied requests other than GET/HEAD, WebSocket upgrades and traffic, for idle detection. */
  onActivity?: (instanceId: string) => void;
  /** Called with the status of every proxied HTTP request once answered (metrics). */
  onResponse?: (statusCode: number) => void;
  log: Logger;
}

export class InstanceProxy {
  private readonly _agent = new Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 64 });
  private readonly _sockets = new Set<Duplex>();

  constructor(private readonly _o: ProxyOptions) {}

  /** The instance id when the URL is a proxy path, else null. */
  static match(url: string | undefined): string | null {
    const m = url ? PREFIX.exec(url) : null;
    return m ? m[1]! : null;
  }

  /** Number of open proxied WebSockets (for metrics). */
  get openSockets(): number {
    return this._sockets.size / 2;
  }

  async handleRequest(req: IncomingMessage, res: ServerResponse, instanceId: string): Promise<void> {
    const requestId = String(req.headers['x-request-id'] ?? Math.random().toString(36).slice(2, 10));
    if (this._o.onResponse) res.once('finish', () => this._o.onResponse!(res.statusCode));
    try {
      const url = new URL(req.url ?? '/', 'http://gateway');
      if (url.pathname === `/notebooks/${instanceId}`) {
        res.writeHead(301, { Location: `/notebooks/${instanceId}/${url.search}` });
        res.end();
        return;
      }
      const target = await this._o.resolve(req, instanceId, url);
      // Reads are what an unattended browser tab makes on timers (the agent classifies them
      // the same way): only other methods count as activity for idle auto-stop.
      if (req.method !== 'GET' && req.method !== 'HEAD') this._o.onActivity?.(instanceId);
      await this._forward(req, res, target, url);
    } catch (err) {
      sendError(res, toHttpError(err, this._o.log, requestId));
    }
  }

  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, instanceId: string): Promise<void> {
    socket.on('error', () => socket.destroy());
    let target: OpenTarget;
    const url = new URL(req.url ?? '/', 'http://gateway');
    try {
      target = await this._o.resolve(req, instanceId, url);
    } catch (err) {
      refuseUpgrade(socket, toHttpError(err, this._o.log, 'upgrade'));
      return;
    }
    this._o.onActivity?.(instanceId);
    const upstream = httpRequest({
      host: target.endpoint.host,
      port: target.endpoint.port,
      method: req.method,
      path: upstreamPath(url),
      headers: { ...forwardHeaders(req), connection: 'Upgrade', upgrade: 'websocket', authorization: `token ${target.agentToken}` }
    });
    upstream.on('upgrade', (res, upSocket, upHead) => {
      const lines = [`HTTP/1.1 101 Switching Protocols`];
      for (let i = 0; i < res.rawHeaders.length; i += 2) lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
      socket.write(lines.join('\r\n') + '\r\n\r\n');
      if (upHead.length) socket.write(upHead);
      if (head.length) upSocket.write(head);
      (upSocket as Socket).setNoDelay(true);
      (socket as Socket).setNoDelay?.(true);
      this._splice(socket, upSocket, target.instanceId);
    });
    upstream.on('response', res => {
      // The agent refused the upgrade: relay its answer.
      const lines = [`HTTP/1.1 ${res.statusCode} ${res.statusMessage}`];
      for (let i = 0; i < res.rawHeaders.length; i += 2) {
        if (!HOP.has(res.rawHeaders[i]!.toLowerCase())) lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
      }
      lines.push('Connection: close');
      socket.write(lines.join('\r\n') + '\r\n\r\n');
      res.pipe(socket);
    });
    upstream.on('error', err => refuseUpgrade(socket, toHttpError(err, this._o.log, 'upgrade')));
    upstream.end();
  }

  private _splice(client: Duplex, upstream: Duplex, instanceId: string): void {
    this._sockets.add(client);
    this._sockets.add(upstream);
    let last = 0;
    const touch = (): void => {
      // At most one activity callback per second per socket pair.
      const now = Date.now();
      if (now - last > 1_000) {
        last = now;
        this._o.onActivity?.(instanceId);
      }
    };
    client.on('data', touch);
    upstream.on('data', touch);
    const close = (): void => {
      this._sockets.delete(client);
      this._sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    upstream.on('error', close);
    client.on('error', close);
    upstream.on('close', close);
    client.on('close', close);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  private _forward(req: IncomingMessage, res: ServerResponse, target: OpenTarget, url: URL): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const upstream = httpRequest(
        {
          host: target.endpoint.host,
          port: target.endpoint.port,
          method: req.method,
          path: upstreamPath(url),
          agent: this._agent,
          headers: { ...forwardHeaders(req), authorization: `token ${target.agentToken}` }
        },
        up => {
          const headers: Record<string, string | string[]> = {};
          for (const [k, v] of Object.entries(up.headers)) {
            if (v !== undefined && !HOP.has(k)) headers[k] = v;
          }
          res.writeHead(up.statusCode ?? 502, headers);
          up.pipe(res);
          up.on('end', resolve);
          up.on('error', reject);
        }
      );
      upstream.on('error', err => {
        this._o.log.debug({ err, url: loggableUrl(req.url) }, 'upstream error');
        reject(err);
      });
      res.on('close', () => {
        if (!res.writableFinished) upstream.destroy();
      });
      req.pipe(upstream);
    });
  }

  /** Closes proxied WebSockets and idle upstream connections. */
  dispose(): void {
    for (const s of this._sockets) s.destroy();
    this._sockets.clear();
    this._agent.destroy();
  }
}

/** The path forwarded upstream: unchanged, minus a `token` query parameter. */
function upstreamPath(url: URL): string {
  if (url.searchParams.has('token')) url.searchParams.delete('token');
  return url.pathname + url.search;
}

function forwardHeaders(req: IncomingMessage): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || HOP.has(k)) continue;
    if (k === 'cookie') {
      const kept = stripCookie(String(v), SESSION_COOKIE);
      if (kept) out.cookie = kept;
      continue;
    }
    out[k] = v;
  }
  const remote = req.socket.remoteAddress ?? '';
  out['x-forwarded-for'] = req.headers['x-forwarded-for'] ? `${String(req.headers['x-forwarded-for'])}, ${remote}` : remote;
  out['x-forwarded-proto'] = 'http';
  if (req.headers.host) out['x-forwarded-host'] = req.headers.host;
  return out;
}

function stripCookie(header: string, name: string): string {
  return header
    .split(';')
    .map(s => s.trim())
    .filter(s => s && !s.startsWith(`${name}=`))
    .join('; ');
}

