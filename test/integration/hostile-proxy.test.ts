/**
 * Hostile paths through the gateway's proxy to a real agent (issue 11), as a signed-in user
 * who owns one instance and wants another tenant's: contents and file requests with random
 * paths (raw `..`, encoded traversal, NUL, Unicode, very long), other instances' ids spliced
 * in, and WebSocket upgrades on such paths. Never a 5xx, never another tenant's file or the
 * gateway's own files, the victim's `~/work` untouched, and the gateway alive throughout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startGatewayProcess, waitFor, type GatewayProcess } from '../utils/gateway-process';
import { rawRequest } from '../../server/test/hostile/raw-http';
import { encodeSegment, nastyJson, nastyString } from '../../server/test/hostile/arbitraries';

const IMAGE = 'python3.11-cpu-debian12';
const VICTIM_SECRET = 'VICTIM-NOTEBOOK-SECRET';

describe('hostile input: the proxy to instances', () => {
  let gw: GatewayProcess;
  let port: number;
  let mine: string;
  let theirs: string;
  let token: string;
  let victimWork: string;

  beforeAll(async () => {
    gw = await startGatewayProcess();
    port = Number(new URL(gw.url).port);
    for (const name of ['mallory', 'victim']) {
      await gw.api('/api/v1/users', { method: 'POST', token: gw.adminToken, json: { name, password: `${name}-password-1`, role: 'user' } });
    }
    const login = async (name: string): Promise<string> => ((await (await gw.api('/api/v1/auth/login', { method: 'POST', json: { username: name, password: `${name}-password-1` } })).json()) as { token: string }).token;
    token = await login('mallory');
    const victim = await login('victim');
    const create = async (t: string, name: string): Promise<string> => ((await (await gw.api('/api/v1/notebooks', { method: 'POST', token: t, json: { name, image: IMAGE } })).json()) as { id: string }).id;
    mine = await create(token, 'mine');
    theirs = await create(victim, 'theirs');
    for (const id of [mine, theirs]) {
      await waitFor(async () => ((await (await gw.api(`/api/v1/notebooks/${id}`, { token: gw.adminToken })).json()) as { status: string }).status === 'RUNNING', 'RUNNING', 60_000);
    }
    victimWork = join(gw.dataDir, 'instances', theirs, 'work');
    await writeFile(join(victimWork, 'secret.ipynb'), JSON.stringify({ cells: [], metadata: { secret: VICTIM_SECRET }, nbformat: 4, nbformat_minor: 5 }));
  }, 120_000);

  afterAll(async () => {
    for (const id of [mine, theirs]) await gw?.api(`/api/v1/notebooks/${id}/stop`, { method: 'POST', token: gw.adminToken }).catch(() => undefined);
    await waitFor(async () => {
      const items = ((await (await gw.api('/api/v1/notebooks?all=true', { token: gw.adminToken })).json()) as { items: { status: string }[] }).items;
      return items.every(i => i.status === 'STOPPED' || i.status === 'ERROR');
    }, 'stopped', 30_000).catch(() => undefined);
    await gw?.stop();
  });

  it('should answer hostile paths through the proxy without a 5xx and never reach another tenant', async () => {
    const before = (await readdir(victimWork)).sort();
    let answered = 0;
    const segment = fc.oneof(
      { weight: 3, arbitrary: nastyString(40).map(encodeSegment) },
      { weight: 2, arbitrary: fc.constantFrom('..', '%2e%2e', '.%2E', '..%2f..%2f', '%2F', '%00', 'secret.ipynb', 'api', 'contents', 'files', 'kernels', 'notebooks', 'nbg', 'lab', 'x'.repeat(2_000)) },
      { weight: 1, arbitrary: fc.constant('THEIRS') }
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'PUT', 'POST', 'PATCH', 'DELETE'),
        fc.constantFrom('api/contents/', 'files/', 'api/', '', 'api/kernels/', 'api/sessions/', 'api/nbg/'),
        fc.array(segment, { maxLength: 4 }),
        fc.oneof(nastyJson, fc.record({ type: fc.constantFrom('file', 'notebook'), format: fc.constantFrom('text', 'json'), content: nastyJson, path: fc.constantFrom('../x', `../../${theirs}/work/x`) })),
        async (method, prefix, segs, body) => {
          const path = `/notebooks/${mine}/${prefix}${segs.join('/').replaceAll('THEIRS', theirs)}`;
          const res = await rawRequest(port, {
            method, path, headers: [['Authorization', `Bearer ${token}`], ['Content-Type', 'application/json']],
            ...(method === 'GET' || method === 'DELETE' ? {} : { body: JSON.stringify(body) })
          });
          expect(res.status, `${method} ${path.slice(0, 200)} → ${res.status} ${res.body.slice(0, 200)}`).toBeGreaterThan(0);
          expect(res.status, `${method} ${path.slice(0, 200)} → ${res.status} ${res.body.slice(0, 200)}`).toBeLessThan(500);
          expect(res.body.includes(VICTIM_SECRET), `${method} ${path} revealed another tenant's notebook`).toBe(false);
          expect(res.body.includes('integration-admin-pw'), `${method} ${path} revealed the gateway's environment`).toBe(false);
          if (res.status < 300) answered++;
        }
      ),
      { numRuns: 600 }
    );
    // The runs reached the agent and got past its checks, not only the gateway's.
    expect(answered).toBeGreaterThan(10);
    expect((await readdir(victimWork)).sort()).toEqual(before);
    expect(await readFile(join(victimWork, 'secret.ipynb'), 'utf8')).toContain(VICTIM_SECRET);
  }, 300_000);

  it('should refuse WebSocket upgrades on hostile paths without harm', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(nastyString(30).map(encodeSegment), fc.constantFrom('..', '%2e%2e', 'channels', 'api', 'kernels', 'terminals', 'websocket', 'nbg', 'ssh', 'session')), { maxLength: 5 }), async segs => {
        const path = `/notebooks/${mine}/${segs.join('/')}`;
        const res = await rawRequest(port, {
          method: 'GET', path: `${path}?token=${token}`,
          headers: [['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='], ['Sec-WebSocket-Version', '13']]
        });
        // An upgrade on a path the agent does not serve is refused; none may crash anything.
        expect([101, 400, 403, 404, 409]).toContain(res.status);
      }),
      { numRuns: 200 }
    );
    expect((await gw.api('/api/v1/health')).status).toBe(200);
    expect(gw.process.exitCode).toBeNull();
  }, 120_000);
});
