/**
 * The single mapping from errors to HTTP responses (STYLE.md §12), used by the REST API,
 * the proxy, and WebSocket upgrades.
 *
 * `HttpError` → its status; validation → 400; upstream connection failures → 503 (logged
 * without a stack); anything else → 500, logged with a stack, with a request id to quote.
 * Body: `{ error, code, message, details? }`.
 */
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../logger';
import { Errors, HttpError } from '../errors';
import { SpawnError } from '../drivers/driver';
import { isUpstreamError } from '../proxy/upstream-errors';

export interface ErrorBody {
  error: string;
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

/** Classifies an error; logs it at the level its class deserves. */
export function toHttpError(err: unknown, log: Logger, requestId: string): HttpError {
  if (err instanceof HttpError) {
    if (err.statusCode >= 500) log.warn({ code: err.code, requestId }, err.message);
    return err;
  }
  if (err instanceof SpawnError) {
    log.warn({ reason: err.reason, requestId }, err.message);
    return new HttpError(err.status, 'NB_ERR_SPAWN', err.message, { reason: err.reason });
  }
  const e = err as { validation?: unknown; statusCode?: number; code?: string; message?: string };
  if (e && e.validation) return Errors.VALIDATION(e.message ?? 'invalid request');
  // Only fastify's own errors (FST_*) carry a client status; a 4xx from a library the gateway
  // calls (dockerd, S3) is the gateway's problem, not the client's.
  if (e && typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500 && (e.code?.startsWith('FST_') || e.code === undefined && !('json' in e))) {
    // Framework errors (bad JSON, body too large, unsupported media type).
    return new HttpError(e.statusCode, e.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'NB_ERR_PAYLOAD_TOO_LARGE' : 'NB_ERR_BAD_REQUEST', e.message ?? 'bad request');
  }
  if (isUpstreamError(err)) {
    log.warn({ code: (err as NodeJS.ErrnoException).code, requestId }, 'instance unreachable');
    return Errors.INSTANCE_UNREACHABLE((err as NodeJS.ErrnoException).code ?? 'connection failed');
  }
  log.error({ err, requestId }, 'unhandled error');
  return Errors.INTERNAL(requestId);
}

export function errorBody(e: HttpError): ErrorBody {
  return {
    error: STATUS_CODES[e.statusCode] ?? 'Error',
    code: e.code,
    message: e.message,
    ...(e.details ? { details: e.details } : {})
  };
}

/** Writes an error to a raw response (the proxy path, outside fastify). */
export function sendError(res: ServerResponse, e: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(errorBody(e));
  res.writeHead(e.statusCode, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  res.end(text);
}

/** Refuses a WebSocket upgrade with a raw status line and a JSON body (CHP style). */
export function refuseUpgrade(socket: Duplex, e: HttpError): void {
  const text = JSON.stringify(errorBody(e));
  socket.end(
    `HTTP/1.1 ${e.statusCode} ${STATUS_CODES[e.statusCode] ?? 'Error'}\r\n` +
      `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`
  );
}
