/**
 * Training jobs on the local scheduler (embedded default) as host processes: the end-to-end
 * suite, plus the API's refusals, tenancy and audit.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../server/src/storage/fs-object-store';
import { waitFor } from '../utils/gateway-process';
import { processesMatching } from '../utils/processes';
import { startGatewayProcess } from '../utils/gateway-process';
import { describeJobsEndToEnd, SKLEARN_IMAGE } from './jobs-e2e';

describeJobsEndToEnd({
  name: 'local',
  env: () => ({ NBG_JOB_SCHEDULER: 'local', NBG_JOB_RUNTIME: 'process' }),
  gone: async (_gw, versionId) => (await processesMatching(versionId)).length === 0
});

describe('training jobs API', () => {
  it('should refuse bad requests before creating anything, hide other users\' jobs, and audit', async () => {
    const gw = await startGatewayProcess({ NBG_JOB_SCHEDULER: 'local', NBG_JOB_RUNTIME: 'process' });
    try {
      const post = (json: unknown, token = gw.adminToken) => gw.api('/api/v1/jobs', { method: 'POST', token, json });
      const base = { name: 'j1', image: SKLEARN_IMAGE, codeUrl: 's3://code/app/', bootFile: 'train.py', outputUrl: 's3://out/' };
      const cases: [unknown, number, string, RegExp][] = [
        [{ ...base, codeUrl: 'http://x/y' }, 400, 'NB_ERR_VALIDATION', /codeUrl/],
        [{ ...base, nodeCount: 0 }, 400, 'NB_ERR_VALIDATION', /nodeCount/],
        [{ ...base, name: '9lives' }, 400, 'NB_ERR_JOB_NAME_INVALID', /starting with a letter/],
        [{ ...base, flavor: 'gpu.1x' }, 400, 'NB_ERR_FLAVOR_CHIP_MISMATCH', /gpu/],
        [{ ...base }, 400, 'NB_ERR_JOB_INPUT_NOT_FOUND', /bucket "code" does not exist|empty or does not exist/],
        [{ ...base, extra: 1 }, 400, 'NB_ERR_VALIDATION', /extra/]
      ];
      for (const [body, status, code, message] of cases) {
        const res = await post(body);
        const err = (await res.json()) as { code: string; message: string };
        expect(res.status, JSON.stringify(err)).toBe(status);
        expect(err.code).toBe(code);
        expect(err.message).toMatch(message);
      }
      const list = (await (await gw.api('/api/v1/jobs', { token: gw.adminToken })).json()) as { total: number };
      expect(list.total).toBe(0);

      const users = await gw.api('/api/v1/users', { method: 'POST', token: gw.adminToken, json: { name: 'alice', password: 'alice-password-1', role: 'user' } });
      expect(users.status).toBe(201);
      const alice = ((await (await gw.api('/api/v1/auth/login', { method: 'POST', json: { username: 'alice', password: 'alice-password-1' } })).json()) as { token: string }).token;
      // A user's job reads and writes only under their storage root (users/<name>/ of the deployment's bucket).
      const outside = await post(base, alice);
      expect(outside.status).toBe(403);
      expect(await outside.json()).toMatchObject({ code: 'NB_ERR_JOB_LOCATION_FORBIDDEN', message: expect.stringContaining('s3://nbg-users/users/alice/') });
      const bogus = await gw.api('/api/v1/jobs/abcdefabcdef', { token: alice });
      expect(bogus.status).toBe(404);
      expect(((await bogus.json()) as { code: string }).code).toBe('NB_ERR_JOB_NOT_FOUND');

      // The job-agent API takes only job tokens.
      for (const token of [undefined, gw.adminToken]) {
        const res = await gw.api('/api/v1/job-agent/spec', { token });
        expect(res.status).toBe(401);
        expect(((await res.json()) as { code: string }).code).toBe('NB_ERR_JOB_TOKEN_INVALID');
      }

      const objects = new FsObjectStore({ root: join(gw.dataDir, 'objects') });
      for (const b of ['code', 'out']) await objects.ensureBucket(b);
      await objects.put('code', 'app/train.py', Buffer.from("print('ok')\n"));
      const created = await post(base);
      expect(created.status).toBe(201);
      const job = (await created.json()) as { id: string };
      await waitFor(async () => ((await (await gw.api(`/api/v1/jobs/${job.id}`, { token: gw.adminToken })).json()) as { status: string }).status === 'SUCCEEDED', 'SUCCEEDED');
      const patched = await gw.api(`/api/v1/jobs/${job.id}`, { method: 'PATCH', token: gw.adminToken, json: { description: 'first try', webhook: { url: 'https://hooks.example.com/x', secret: 'abcdefgh' } } });
      expect(await patched.json()).toMatchObject({ description: 'first try', webhook: { url: 'https://hooks.example.com/x', signed: true } });
      for (const [method, path] of [['GET', ''], ['PATCH', ''], ['DELETE', ''], ['GET', '/versions/V0001/logs'], ['POST', '/versions/V0001/stop'], ['POST', '/versions']] as const) {
        const res = await gw.api(`/api/v1/jobs/${job.id}${path}`, { method, token: alice, ...(method === 'PATCH' ? { json: { description: 'x' } } : {}) });
        expect(res.status, `${method} ${path}`).toBe(404);
      }
      expect(((await (await gw.api('/api/v1/jobs', { token: alice })).json()) as { total: number }).total).toBe(0);
      expect(((await (await gw.api('/api/v1/jobs?all=true', { token: gw.adminToken })).json()) as { total: number }).total).toBe(1);
      expect((await gw.api(`/api/v1/jobs/${job.id}`, { method: 'DELETE', token: gw.adminToken })).status).toBe(204);
      expect((await gw.api(`/api/v1/jobs/${job.id}`, { token: gw.adminToken })).status).toBe(404);

      const audit = (await (await gw.api('/api/v1/audit?action=createModelArtsTrainJob,deleteModelArtsTrainJob', { token: gw.adminToken })).json()) as { items: { action: string; result: string; resource: { id: string } }[] };
      expect(audit.items.filter(i => i.result === 'failure').length).toBeGreaterThanOrEqual(cases.length);
      expect(audit.items.filter(i => i.result === 'success' && i.resource.id === job.id).map(i => i.action).sort()).toEqual(['createModelArtsTrainJob', 'deleteModelArtsTrainJob']);
    } finally {
      await gw.stop();
    }
  });
});
