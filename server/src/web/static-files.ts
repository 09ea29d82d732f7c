/**
 * Serves built browser assets (`web/dist`) from the gateway: content types, precompressed
 * `.gz` twins, long-lived caching for content-hashed names, and no path escapes.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.gif': 'image/gif',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.eot': 'application/vnd.ms-fontobject',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm'
};

/** esbuild's `[name]-[hash]` names: 8 base32 characters before the extension. */
const HASHED = /-[A-Z2-7]{8}\.[a-z0-9]+$/;

/**
 * Resolves a URL path below `rootDir`, or null when it would leave it (or is malformed).
 */
export function safeJoin(rootDir: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const full = normalize(join(rootDir, decoded));
  const base = normalize(rootDir.endsWith(sep) ? rootDir : rootDir + sep);
  return full.startsWith(base) ? full : null;
}

/**
 * Sends a file below `rootDir` for a GET/HEAD.
 * @returns false when there is no such file (the caller answers 404).
 */
export async function sendStatic(req: IncomingMessage, res: ServerResponse, rootDir: string, urlPath: string, opts: { maxAgeSeconds?: number } = {}): Promise<boolean> {
  const file = safeJoin(rootDir, urlPath);
  if (!file) return false;
  const st = await stat(file).catch(() => null);
  if (!st || !st.isFile()) return false;
  const type = TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
  const cache = HASHED.test(file) ? 'public, max-age=31536000, immutable' : opts.maxAgeSeconds ? `public, max-age=${opts.maxAgeSeconds}` : 'no-cache';
  const etag = `W/"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
  const headers: Record<string, string | number> = {
    'Content-Type': type,
    'Cache-Control': cache,
    ETag: etag,
    'Last-Modified': st.mtime.toUTCString(),
    'X-Content-Type-Options': 'nosniff',
    Vary: 'Accept-Encoding'
  };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    return true;
  }
  let path = file;
  let size = st.size;
  if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
    const gz = await stat(`${file}.gz`).catch(() => null);
    if (gz?.isFile()) {
      path = `${file}.gz`;
      size = gz.size;
      headers['Content-Encoding'] = 'gzip';
    }
  }
  headers['Content-Length'] = size;
  res.writeHead(200, headers);
  if (req.method === 'HEAD') {
    res.end();
    return true;
  }
  await new Promise<void>(resolve => {
    const stream = createReadStream(path);
    stream.on('error', () => {
      res.destroy();
      resolve();
    });
    res.on('close', () => {
      stream.destroy();
      resolve();
    });
    stream.pipe(res);
  });
  return true;
}
