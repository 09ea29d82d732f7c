/**
 * The public listener's defences against malformed and slow clients (issue 11): timeouts on
 * headers and request bodies, a cap on connections per address that have not sent their
 * headers yet (slowloris), and catalogue-shaped answers for requests the HTTP parser or the
 * router refuse before any route runs.
 *
 * #### Notes
 * - Node checks `headersTimeout`/`requestTimeout` every `connectionsCheckingInterval`, so the
 *   interval follows the shorter timeout; otherwise a 2 s limit would act after 30 s.
 * - The pending-connection cap counts a socket from `connection` until its first complete
 *   request head (`request` or `upgrade`); keep-alive and WebSocket connections in use are
 *   not counted, so a browser with many kernels open is never refused.
 * - Only connections pending for longer than a grace period count towards the cap: a burst
 *   of fresh connections (a lab reconnecting hundreds of kernels after a restart, a load
 *   test, an office behind one NAT address) sends its heads within milliseconds, while a
 *   slowloris holds its connections for the whole headers timeout. A hard cap of 8× the
 *   limit bounds even fresh ones.
 */
import { STATUS_CODES, type Server, type ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../logger';
import { Errors, type HttpError } from '../errors';
import { errorBody } from './error-handler';

export interface HttpLimits {
  /** Longest a client may take to send a request's headers. */
  headersTimeoutMs: number;
  /** Longest a client may take to send a whole request, body included (0 = no limit). */
  requestTimeoutMs: number;
  /** Connections one address may hold open before their first request head (0 = no cap). */
  maxPendingPerAddress: number;
}

/** Options for `http.createServer` that enforce the timeouts. */
export function serverOptions(l: HttpLimits): ServerOptions {
  // Node refuses a headers timeout longer than a (non-zero) request timeout.
  const shortest = Math.min(l.headersTimeoutMs, l.requestTimeoutMs || Infinity);
  return {
    headersTimeout: shortest,
    requestTimeout: l.requestTimeoutMs,
    connectionsCheckingInterval: Math.max(250, Math.min(30_000, Math.floor(shortest / 4)))
  };
}

/**
 * Refuses connections beyond `maxPendingPerAddress` that have not sent a request head yet.
 * @returns the number of connections refused so far (for logs and tests).
 */
export function capPendingConnections(server: Server, l: HttpLimits, log: Logger): { readonly refused: number } {
  const stats = { refused: 0 };
  if (l.maxPendingPerAddress <= 0) return stats;
  const grace = Math.min(5_000, Math.floor(l.headersTimeoutMs / 2));
  const hardCap = l.maxPendingPerAddress * 8;
  /** Per address, when each pending connection arrived. */
  const pending = new Map<string, Map<Socket, number>>();
  const settle = new WeakMap<Socket, () => void>();
  const warned = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const addr = socket.remoteAddress ?? '';
    const now = Date.now();
    const mine = pending.get(addr) ?? new Map<Socket, number>();
    let slow = 0;
    if (mine.size >= l.maxPendingPerAddress) for (const since of mine.values()) if (now - since > grace) slow++;
    if (slow >= l.maxPendingPerAddress || mine.size >= hardCap) {
      stats.refused++;
      socket.destroy();
      // One line per address per minute: a slowloris makes thousands of these.
      if ((warned.get(addr) ?? 0) < now - 60_000) {
        warned.set(addr, now);
        log.warn({ address: addr, pending: mine.size, slow, limit: l.maxPendingPerAddress }, 'refusing connections: too many from one address have not sent their request headers (slow client?)');
      }
      return;
    }
    mine.set(socket, now);
    pending.set(addr, mine);
    const release = (): void => {
      if (!mine.delete(socket)) return;
      if (mine.size === 0 && pending.get(addr) === mine) pending.delete(addr);
    };
    settle.set(socket, release);
    socket.once('close', release);
  });
  const onHead = (req: { socket: Socket }): void => settle.get(req.socket)?.();
  server.on('request', onHead);
  server.on('upgrade', onHead);
  return stats;
}

/**
 * Answers what Node's HTTP parser refused (bad header bytes, headers too large, a request
 * not finished in time) with the catalogue body, then closes the connection.
 */
export function clientErrorHandler(log: Logger): (err: NodeJS.ErrnoException, socket: Socket) => void {
  return (err, socket) => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    let e: HttpError;
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') e = Errors.REQUEST_TIMEOUT();
    else if (err.code === 'HPE_HEADER_OVERFLOW') e = Errors.HEADERS_TOO_LARGE();
    else e = Errors.BAD_REQUEST(`The request could not be parsed as HTTP/1.1 (${parserProblem(err.code)}); nothing was done`);
    log.debug({ code: err.code, address: socket.remoteAddress }, 'client error');
    if (socket.writable) {
      const text = JSON.stringify(errorBody(e));
      socket.write(
        `HTTP/1.1 ${e.statusCode} ${STATUS_CODES[e.statusCode] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`
      );
    }
    socket.destroy();
  };
}

/** fastify's router refusals (a URL that does not decode, a path parameter too long). */
export function frameworkErrorHandler(err: Error & { code?: string }, _req: FastifyRequest, reply: FastifyReply): void {
  const e = err.code === 'FST_ERR_BAD_URL'
    ? Errors.BAD_REQUEST('The URL is not valid: a percent sign must start an escape of two hex digits (%25 for "%")')
    : err.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? Errors.BAD_REQUEST('A path parameter is too long')
      : Errors.BAD_REQUEST(err.message);
  void reply.code(e.statusCode).header('Cache-Control', 'no-store').send(errorBody(e));
}

function parserProblem(code: string | undefined): string {
  switch (code) {
    case 'HPE_INVALID_HEADER_TOKEN': return 'a header name or value has characters HTTP does not allow';
    case 'HPE_INVALID_METHOD': return 'unknown method';
    case 'HPE_INVALID_URL': return 'the request target has characters HTTP does not allow';
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH': return 'bad Content-Length';
    case 'HPE_INVALID_TRANSFER_ENCODING':
    case 'HPE_INVALID_CHUNK_SIZE': return 'bad Transfer-Encoding or chunk';
    case 'HPE_INVALID_VERSION': return 'unsupported HTTP version';
    default: return code ?? 'malformed request';
  }
}
