import { describe, expect, it } from 'vitest';
import { InstanceAPIClient, NetworkError, ResponseError, readEvents } from '../src/console/api/restapi';

interface Seen {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

function fakeFetch(answer: (s: Seen) => Response): { fetch: typeof fetch; seen: Seen[] } {
  const seen: Seen[] = [];
  const f = (async (url: string, init: RequestInit = {}) => {
    const s: Seen = { url, method: init.method ?? 'GET', headers: { ...(init.headers as Record<string, string>) }, body: init.body as string | undefined };
    seen.push(s);
    return answer(s);
  }) as unknown as typeof fetch;
  return { fetch: f, seen };
}

const json = (status: number, body: unknown): Response => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('InstanceAPIClient', () => {
  it('should echo the _xsrf cookie on writes only, and never with a bearer token', async () => {
    const { fetch, seen } = fakeFetch(s => (s.method === 'GET' ? json(200, { items: [], total: 0, limit: 50, offset: 0 }) : json(202, { id: 'x' })));
    const api = new InstanceAPIClient({ fetch, cookie: n => (n === '_xsrf' ? 'xsrf-value' : undefined) });
    await api.listInstances();
    await api.stopInstance('abc');
    expect(seen[0]!.headers['X-XSRFToken']).toBeUndefined();
    expect(seen[1]!.headers['X-XSRFToken']).toBe('xsrf-value');
    expect(seen[1]!.url).toBe('/api/v1/notebooks/abc/stop');
    const withToken = new InstanceAPIClient({ fetch, token: 't0k', cookie: () => 'xsrf-value' });
    await withToken.stopInstance('abc');
    expect(seen[2]!.headers.Authorization).toBe('Bearer t0k');
    expect(seen[2]!.headers['X-XSRFToken']).toBeUndefined();
  });

  it('should separate error answers from unreachable gateways and treat 404 on DELETE as done', async () => {
    const { fetch } = fakeFetch(s =>
      s.method === 'DELETE' ? json(404, { code: 'NB_ERR_INSTANCE_NOT_FOUND', message: 'gone' }) : json(409, { code: 'NB_ERR_INSTANCE_STATE', message: 'Cannot stop', details: { status: 'STOPPED' } })
    );
    const api = new InstanceAPIClient({ fetch });
    await expect(api.deleteInstance('abc')).resolves.toBeUndefined();
    const err = await api.stopInstance('abc').catch(e => e as ResponseError);
    expect(err).toBeInstanceOf(ResponseError);
    expect(err).toMatchObject({ status: 409, code: 'NB_ERR_INSTANCE_STATE', message: 'Cannot stop', details: { status: 'STOPPED' } });
    const down = new InstanceAPIClient({ fetch: (async () => { throw new TypeError('Failed to fetch'); }) as unknown as typeof fetch });
    await expect(down.health()).rejects.toBeInstanceOf(NetworkError);
  });

  it('should know a missing route from a missing resource', async () => {
    const { fetch } = fakeFetch(() => json(404, { code: 'NB_ERR_NOT_FOUND', message: 'No route for GET /api/v1/jobs' }));
    const err = (await new InstanceAPIClient({ fetch }).listJobs().catch(e => e)) as ResponseError;
    expect(err.isMissingRoute).toBe(true);
    expect(new ResponseError(404, 'NB_ERR_JOB_NOT_FOUND', 'x').isMissingRoute).toBe(false);
  });

  it('should follow a job log with the gateway\'s offset and status headers', async () => {
    const { fetch, seen } = fakeFetch(() => new Response('hello\n', { status: 200, headers: { 'x-log-next-offset': '6', 'x-job-status': 'RUNNING' } }));
    const chunk = await new InstanceAPIClient({ fetch }).jobLog('j1', 'V0001', 0);
    expect(chunk).toEqual({ text: 'hello\n', next: 6, status: 'RUNNING' });
    expect(seen[0]!.url).toBe('/api/v1/jobs/j1/versions/V0001/logs?task=0&offset=0');
  });

  it('should read server-sent events split across chunks', async () => {
    const parts = ['event: progress\ndata: {"progress":', '40,"message":"commit"}\n\nevent: result\r\ndata: {"name":"a:v1"}\r\n\r\n', ': keep-alive\n\n'];
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const p of parts) c.enqueue(new TextEncoder().encode(p));
        c.close();
      }
    });
    const got: [string, unknown][] = [];
    await readEvents(body, (e, d) => got.push([e, d]));
    expect(got).toEqual([['progress', { progress: 40, message: 'commit' }], ['result', { name: 'a:v1' }]]);
  });
});
