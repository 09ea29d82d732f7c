/**
 * The hot paths of sync, PutObject/UploadPart of in-memory bodies and GetObject, signed (SigV4)
 * and sent on keep-alive connections without the SDK's middleware stack. Everything else goes
 * through `@aws-sdk/client-s3`.
 *
 * #### Notes
 * - Why: the SDK spends about 1 ms of CPU per request on endpoint rules, schemas and
 *   middleware. A push of thousands of small files on a machine the store shares is CPU-bound,
 *   and this path costs a fraction of that (bench/sync, docs/storage.md).
 * - Used only with an explicit endpoint (S3-compatible stores: radosgw, MinIO, OBS); AWS
 *   itself (endpoint rules, regions, redirects) stays with the SDK.
 * - Bodies carry Content-MD5 (a signed header the store checks) and are sent as
 *   UNSIGNED-PAYLOAD. Both operations are idempotent: retried on connection errors and 5xx
 *   with backoff (a GET only until its body starts; callers verify what they read).
 */
import { createHash, createHmac } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { S3Credentials } from './s3-object-store';

export interface FastPathOptions {
  endpoint: string;
  region: string;
  forcePathStyle: boolean;
  credentials: () => Promise<S3Credentials>;
  maxSockets: number;
  timeoutMs: number;
}

/** A failed request: the HTTP status and S3's error code (`AccessDenied`, `NoSuchUpload`…). */
export class S3RequestError extends Error {
  /** In the SDK's shape, so one error mapping serves both paths. */
  readonly $metadata: { httpStatusCode: number };
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
    this.name = code || 'S3RequestError';
    this.$metadata = { httpStatusCode: status };
  }
}

export class FastPath {
  private readonly _url: URL;
  private readonly _agent: HttpAgent;
  private _keyCache: { day: string; secret: string; key: Buffer } | null = null;

  constructor(private readonly _o: FastPathOptions) {
    this._url = new URL(_o.endpoint);
    this._agent = this._url.protocol === 'https:'
      ? new HttpsAgent({ keepAlive: true, maxSockets: _o.maxSockets })
      : new HttpAgent({ keepAlive: true, maxSockets: _o.maxSockets });
  }

  /**
   * PUTs a body to `bucket/key` (with `?partNumber=&uploadId=` for a part).
   * @returns the ETag the store reports (unquoted).
   * @throws S3RequestError for S3 errors; network errors after the retries.
   */
  async put(bucket: string, key: string, body: Buffer, md5: Buffer, opts: { contentType?: string; query?: Record<string, string>; signal?: AbortSignal } = {}): Promise<string> {
    const extra: Record<string, string> = { 'content-length': String(body.length), 'content-md5': md5.toString('base64') };
    if (opts.contentType) extra['content-type'] = opts.contentType;
    const res = await this._retry(() => this._request('PUT', bucket, key, extra, body, opts), opts.signal);
    res.resume();
    return String(res.headers.etag ?? '').replaceAll('"', '');
  }

  /**
   * GETs an object, or an inclusive byte range of it.
   * @returns the response, a stream of the body.
   */
  async get(bucket: string, key: string, opts: { range?: { start: number; end: number }; signal?: AbortSignal } = {}): Promise<IncomingMessage> {
    const extra: Record<string, string> = opts.range ? { range: `bytes=${opts.range.start}-${opts.range.end}` } : {};
    return this._retry(() => this._request('GET', bucket, key, extra, null, opts), opts.signal);
  }

  private async _retry(fn: () => Promise<IncomingMessage>, signal?: AbortSignal): Promise<IncomingMessage> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const retriable = err instanceof S3RequestError ? err.status >= 500 : !signal?.aborted;
        if (!retriable || attempt >= 4) throw err;
        await new Promise(r => setTimeout(r, 100 * 2 ** attempt * (0.5 + Math.random())));
      }
    }
  }

  /** One signed request; resolves with a 2xx response (body unread), else throws. */
  private async _request(method: 'GET' | 'PUT', bucket: string, key: string, extra: Record<string, string>, body: Buffer | null, opts: { query?: Record<string, string>; signal?: AbortSignal }): Promise<IncomingMessage> {
    const creds = await this._o.credentials();
    const now = new Date();
    const amzDate = now.toISOString().replace(/[-:]|\.\d{3}/g, '');
    const day = amzDate.slice(0, 8);
    const host = this._o.forcePathStyle ? this._url.host : `${bucket}.${this._url.host}`;
    const basePath = this._url.pathname.replace(/\/$/, '');
    const path = `${basePath}${this._o.forcePathStyle ? `/${uriEncode(bucket)}` : ''}/${key.split('/').map(uriEncode).join('/')}`;
    const query = Object.entries(opts.query ?? {})
      .map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`)
      .sort()
      .join('&');
    const headers: Record<string, string> = {
      host,
      'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
      'x-amz-date': amzDate,
      ...extra,
      ...(creds.sessionToken ? { 'x-amz-security-token': creds.sessionToken } : {})
    };
    const names = Object.keys(headers).sort();
    const canonical = [method, path, query, names.map(n => `${n}:${headers[n]!.trim()}\n`).join(''), names.join(';'), 'UNSIGNED-PAYLOAD'].join('\n');
    const scope = `${day}/${this._o.region}/s3/aws4_request`;
    const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${createHash('sha256').update(canonical).digest('hex')}`;
    const signature = createHmac('sha256', this._signingKey(creds.secretAccessKey, day)).update(toSign).digest('hex');
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;

    const send = this._url.protocol === 'https:' ? httpsRequest : httpRequest;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = send({
        protocol: this._url.protocol, hostname: this._url.hostname, port: this._url.port || undefined,
        method, path: query ? `${path}?${query}` : path, headers, agent: this._agent,
        timeout: this._o.timeoutMs, ...(opts.signal ? { signal: opts.signal } : {})
      }, resolve);
      req.once('error', reject);
      req.once('timeout', () => req.destroy(new Error(`no answer from ${this._url.host} in ${this._o.timeoutMs} ms`)));
      req.end(body ?? undefined);
    });
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) return res;
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? (status === 403 ? 'AccessDenied' : status === 404 ? 'NotFound' : '');
    const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1];
    throw new S3RequestError(status, code, `${method} s3://${bucket}/${key}: ${status} ${code}${message ? `: ${message}` : ''}`);
  }

  private _signingKey(secret: string, day: string): Buffer {
    const c = this._keyCache;
    if (c && c.day === day && c.secret === secret) return c.key;
    const hmac = (k: string | Buffer, v: string): Buffer => createHmac('sha256', k).update(v).digest();
    const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), this._o.region), 's3'), 'aws4_request');
    this._keyCache = { day, secret, key };
    return key;
  }

  dispose(): void {
    this._agent.destroy();
  }
}

/** RFC 3986 encoding of one path segment or query value, as SigV4 wants it. */
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, c => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
