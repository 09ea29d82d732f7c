/**
 * Response and request-body helpers shared by every handler.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { JupyterError } from '../errors';

/** Writes a JSON body with the given status. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...headers
  });
  res.end(text);
}

/** Writes an empty 204. */
export function sendNoContent(res: ServerResponse): void {
  res.writeHead(204, { 'Cache-Control': 'no-store' });
  res.end();
}

/**
 * Reads and parses a JSON request body.
 * @param limit - largest accepted body in bytes; larger bodies answer 413.
 * @returns the parsed value, or `{}` for an empty body.
 */
export async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  // Like Jupyter Server (Tornado), the body is parsed as JSON whatever the content-type says,
  // so `curl -d '{}'` works.
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new JupyterError(413, `request body is larger than the ${limit} bytes allowed`);
    chunks.push(chunk);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new JupyterError(400, `request body is not valid JSON: ${(err as Error).message}`);
  }
}

/** Narrows an unknown body to a plain object or answers 400. */
export function asObject(body: unknown, what = 'request body'): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new JupyterError(400, `${what} must be a JSON object`);
  }
  return body as Record<string, unknown>;
}
