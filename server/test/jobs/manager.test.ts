/**
 * JobManager and VersionTracker against the fake scheduler: SPEC §8 states and refusals,
 * versions, tenancy, webhook events written with state changes, restarts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openDatabase, type ISqlDatabase } from '../../src/db/database';
import { migrate } from '../../src/db/migrations';
import { UserStore } from '../../src/auth/user-store';
import type { Principal } from '../../src/auth/principal';
import { loadCatalogue } from '../../src/catalogue/images';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { HttpError } from '../../src/errors';
import { FakeScheduler } from '../../src/scheduler/fake-scheduler';
import { createJobService, type JobService } from '../../src/jobs/setup';
import { validateCreateJob } from '../../src/jobs/validate';
import type { JobStatus, VersionRecord } from '../../src/jobs/job';
import { FsObjectStore } from '../../src/storage/fs-object-store';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { text } from 'node:stream/consumers';
import { INSTALL_ROOT, waitFor } from '../utils/app';

const IMAGE = 'sklearn1.2-xgboost1.7-cpu-debian12';
const presets = loadCatalogue(join(INSTALL_ROOT, 'images', 'catalogue.json'));

interface Env {
  db: ISqlDatabase;
  objects: FsObjectStore;
  dir: string;
  scheduler: FakeScheduler;
  jobs: JobService;
  alice: Principal;
  bob: Principal;
  admin: Principal;
}

async function makeService(db: ISqlDatabase, objects: FsObjectStore, scheduler: FakeScheduler, allowPrivate = true, roots = false): Promise<JobService> {
  const config = loadConfig(INSTALL_ROOT, [], {}, { jobPollIntervalMs: 50, webhookRetryBaseMs: 10, webhookAllowPrivate: allowPrivate });
  const jobs = createJobService({
    config, db, objects, scheduler, replicaId: 'replica-a', log: createLogger('silent'),
    ...(roots ? { storageRootOf: async (u: { name: string }) => ({ bucket: 'code', prefix: `users/${u.name}/` }) } : {}),
    images: {
      resolve: async (_p, name) => presets.find(i => i.name === name),
      names: async () => presets.map(i => i.name)
    }
  });
  await jobs.start('http://127.0.0.1:9');
  return jobs;
}

async function setup(): Promise<Env> {
  const db = await openDatabase('sqlite::memory:');
  await migrate(db);
  const users = new UserStore(db);
  const mk = async (name: string, role: 'admin' | 'user'): Promise<Principal> => ({ userId: (await users.create(name, role, null)).id, name, role, via: 'api-token' });
  const dir = await mkdtemp(join(tmpdir(), 'nbg-jobs-unit-'));
  const objects = new FsObjectStore({ root: dir });
  for (const b of ['code', 'out']) await objects.ensureBucket(b);
  await objects.put('code', 'iris/train.py', Buffer.from('print("hi")\n'));
  await objects.put('code', 'iris/util.py', Buffer.from('X = 1\n'));
  const scheduler = new FakeScheduler();
  return { db, objects, dir, scheduler, jobs: await makeService(db, objects, scheduler), alice: await mk('alice', 'user'), bob: await mk('bob', 'user'), admin: await mk('root', 'admin') };
}

const body = (extra: Record<string, unknown> = {}) => ({
  name: 'iris', image: IMAGE, codeUrl: 's3://code/iris/', bootFile: 'train.py', outputUrl: 'obs://out/iris', ...extra
});

async function expectError(p: Promise<unknown>, code: string, status?: number): Promise<HttpError> {
  const err = await p.then(() => null, e => e as HttpError);
  expect(err, `expected ${code}`).toBeInstanceOf(HttpError);
  expect(err!.code).toBe(code);
  if (status) expect(err!.statusCode).toBe(status);
  return err!;
}

describe('JobManager', () => {
  let e: Env;
  beforeEach(async () => {
    e = await setup();
  });
  afterEach(async () => {
    await e.jobs.dispose();
    await e.db.dispose();
    await rm(e.dir, { recursive: true, force: true });
  });

  const create = (p: Principal, extra: Record<string, unknown> = {}) => e.jobs.manager.create(p, validateCreateJob(body(extra), 16));
  const until = (jobId: string, label: string, want: JobStatus): Promise<VersionRecord> =>
    waitFor(async () => {
      const { version } = await e.jobs.manager.getVersion(e.admin, jobId, label);
      return version.status === want ? version : undefined;
    }, `${label} ${want}`, 5_000, 10);
  const deliveries = async (): Promise<string[]> =>
    (await e.db.all<{ event: string }>('SELECT event FROM job_webhook_deliveries ORDER BY created_at, rowid')).map(r => r.event);

  describe('#create()', () => {
    it('should create V0001 INITIALIZING and submit it (DEPLOYING) with the flavor\'s resources', async () => {
      const { job, version } = await create(e.alice, { flavor: 'cpu.8u32g', parameters: { lr: 0.1 } });
      expect(version.status).toBe('INITIALIZING');
      expect(version.id).toBe(`${job.id}-V0001`);
      const deployed = await until(job.id, 'V0001', 'DEPLOYING');
      expect(deployed.handle).toMatchObject({ kind: 'fake' });
      const sub = e.scheduler.submissions.get(version.id)!;
      expect(sub.spec.tasks).toBe(1);
      expect(sub.spec.resources).toEqual({ cpus: 8, memoryGiB: 32, accelerators: 0, chip: 'cpu' });
      expect(sub.spec.token).toMatch(/^nbgjob_/);
      expect(deployed.config).toMatchObject({ codeUrl: 's3://code/iris/', outputUrl: 's3://out/iris/', bootFile: 'train.py', parameters: [{ name: 'lr', value: '0.1' }] });
      expect(await e.jobs.agent.authenticate(`Bearer ${sub.spec.token}`)).toMatchObject({ id: version.id });
    });

    it('should refuse a boot file that is not in the code directory, naming what is there', async () => {
      const err = await expectError(create(e.alice, { bootFile: 'main.py' }), 'NB_ERR_JOB_INPUT_NOT_FOUND', 400);
      expect(err.message).toContain('train.py, util.py');
      expect((await e.jobs.manager.listJobs(e.alice, { limit: 10, offset: 0 })).total).toBe(0);
    });

    it('should refuse an empty code directory, a missing output bucket and an unknown image', async () => {
      await expectError(create(e.alice, { codeUrl: 's3://code/nothing/' }), 'NB_ERR_JOB_INPUT_NOT_FOUND');
      await expectError(create(e.alice, { outputUrl: 's3://nobucket/x/' }), 'NB_ERR_JOB_INPUT_NOT_FOUND');
      await expectError(create(e.alice, { image: 'nope1.0-cpu-debian12' }), 'NB_ERR_IMAGE_NOT_FOUND');
      await expectError(create(e.alice, { flavor: 'gpu.1x' }), 'NB_ERR_FLAVOR_CHIP_MISMATCH');
    });

    it('should keep a user\'s job locations inside their storage root, but not an administrator\'s', async () => {
      await e.jobs.dispose();
      e.jobs = await makeService(e.db, e.objects, e.scheduler, true, true);
      await e.objects.put('code', 'users/alice/app/train.py', Buffer.from('print(1)\n'));
      const own = { codeUrl: 's3://code/users/alice/app/', outputUrl: 's3://code/users/alice/out/' };
      let err = await expectError(create(e.alice, { ...own, outputUrl: 's3://out/iris/' }), 'NB_ERR_JOB_LOCATION_FORBIDDEN', 403);
      expect(err.message).toContain('"outputUrl" s3://out/iris/ is outside your storage root s3://code/users/alice/');
      err = await expectError(create(e.alice, { ...own, codeUrl: 's3://code/users/bob/app/' }), 'NB_ERR_JOB_LOCATION_FORBIDDEN');
      expect(err.message).toContain('"codeUrl"');
      await expectError(create(e.alice, { ...own, dataUrl: 's3://code/users/alicex/' }), 'NB_ERR_JOB_LOCATION_FORBIDDEN');
      const { job } = await create(e.alice, own);
      await expectError(e.jobs.manager.rerun(e.alice, job.id, { fromVersion: null, fields: { logUrl: 's3://out/logs/' } }), 'NB_ERR_JOB_LOCATION_FORBIDDEN');
      await create(e.admin, { name: 'anywhere' });
    });

    it('should refuse webhooks to local addresses unless allowed', async () => {
      await e.jobs.dispose();
      e.jobs = await makeService(e.db, e.objects, e.scheduler, false);
      for (const url of ['http://localhost:8080/x', 'http://127.0.0.1/x', 'http://[::1]/x', 'http://10.0.0.5/x', 'http://169.254.169.254/latest']) {
        const err = await expectError(create(e.alice, { webhook: { url } }), 'NB_ERR_VALIDATION', 400);
        expect(err.message).toContain('webhookAllowPrivate');
      }
      const { job } = await create(e.alice, { webhook: { url: 'https://hooks.example.com/x' } });
      await expectError(e.jobs.manager.update(e.alice, job.id, { webhook: { url: 'http://192.168.1.1/', events: ['OnJobFailed'], secret: null } }), 'NB_ERR_VALIDATION');
    });

    it('should refuse a second job with the same name of the same owner, not of another', async () => {
      await create(e.alice);
      await expectError(create(e.alice), 'NB_ERR_JOB_NAME_TAKEN', 409);
      await create(e.bob);
    });

    it('should refuse with 503 and create nothing when the scheduler is full', async () => {
      e.scheduler.fullReason = '3 versions are queued';
      const err = await expectError(create(e.alice), 'NB_ERR_JOB_QUEUE_FULL', 503);
      expect(err.message).toContain('3 versions are queued');
      expect((await e.jobs.manager.listJobs(e.alice, { limit: 10, offset: 0 })).total).toBe(0);
    });

    it('should fail the version with the reason when the scheduler refuses the submission', async () => {
      e.scheduler.submitError = new Error('sbatch: error: invalid partition');
      const { job } = await create(e.alice);
      const v = await until(job.id, 'V0001', 'FAILED');
      expect(v.statusReason).toContain('invalid partition');
    });
  });

  describe('state changes', () => {
    it('should follow the scheduler to RUNNING and SUCCEEDED, with webhook events in order', async () => {
      const { job, version } = await create(e.alice, { webhook: { url: 'http://127.0.0.1:9/hook' } });
      await until(job.id, 'V0001', 'DEPLOYING');
      e.scheduler.set(version.id, { state: 'running' });
      const running = await until(job.id, 'V0001', 'RUNNING');
      expect(running.startedAt).not.toBeNull();
      e.scheduler.set(version.id, { state: 'succeeded' });
      const done = await until(job.id, 'V0001', 'SUCCEEDED');
      expect(done.finishedAt).not.toBeNull();
      expect(done.exitCode).toBe(0);
      expect(await deliveries()).toEqual(['OnJobRunning', 'OnJobSucceeded']);
    });

    it('should pass through RUNNING when a version finishes between two looks', async () => {
      const { job, version } = await create(e.alice, { webhook: { url: 'http://127.0.0.1:9/hook', events: ['OnJobSucceeded', 'OnJobRunning'] } });
      await until(job.id, 'V0001', 'DEPLOYING');
      e.scheduler.set(version.id, { state: 'succeeded' });
      const done = await until(job.id, 'V0001', 'SUCCEEDED');
      expect(done.startedAt).not.toBeNull();
      expect(await deliveries()).toEqual(['OnJobRunning', 'OnJobSucceeded']);
    });

    it('should fail with what the task reported, and send only the events asked for', async () => {
      const { job, version } = await create(e.alice, { webhook: { url: 'http://127.0.0.1:9/hook', events: ['OnJobFailed'] } });
      await until(job.id, 'V0001', 'DEPLOYING');
      const v = (await e.jobs.manager.reload(version))!;
      await e.jobs.agent.event(v, { task: 0, event: 'started', host: 'n1', port: 4000 });
      await e.jobs.agent.event(v, { task: 0, event: 'error', message: 'stage: boot file train.py vanished' });
      e.scheduler.set(version.id, { state: 'failed', reason: 'exit 1', exitCode: 1 });
      const failed = await until(job.id, 'V0001', 'FAILED');
      expect(failed.statusReason).toBe('task 0: stage: boot file train.py vanished');
      expect(await deliveries()).toEqual(['OnJobFailed']);
    });

    it('should fail a version the scheduler has lost', async () => {
      const { job, version } = await create(e.alice);
      await until(job.id, 'V0001', 'DEPLOYING');
      e.scheduler.submissions.get(version.id)!.removed = true;
      e.scheduler.set(version.id, { state: 'queued' });
      const v = await until(job.id, 'V0001', 'FAILED');
      expect(v.statusReason).toContain('lost track');
    });

    it('should show the queue reason while DEPLOYING', async () => {
      const { job, version } = await create(e.alice);
      await until(job.id, 'V0001', 'DEPLOYING');
      e.scheduler.set(version.id, { state: 'queued', reason: 'waiting for a free slot' });
      await waitFor(async () => (await e.jobs.manager.reload(version))!.statusReason === 'waiting for a free slot', 'reason', 3_000, 10);
    });

    it('should copy the logs to the log URL when a version ends', async () => {
      const { job, version } = await create(e.alice, { logUrl: 's3://out/logs/' });
      await until(job.id, 'V0001', 'DEPLOYING');
      e.scheduler.set(version.id, { state: 'running' }, 'epoch 1\nepoch 2\n');
      e.scheduler.set(version.id, { state: 'succeeded' });
      await until(job.id, 'V0001', 'SUCCEEDED');
      expect(await text(await e.objects.get('out', 'logs/V0001/task-0.log'))).toBe('epoch 1\nepoch 2\n');
    });
  });

  describe('#stop()', () => {
    it('should cancel a RUNNING version and refuse to stop it again', async () => {
      const { job, version } = await create(e.alice);
      await until(job.id, 'V0001', 'DEPLOYING');
      e.scheduler.set(version.id, { state: 'running' });
      await until(job.id, 'V0001', 'RUNNING');
      const stopped = await e.jobs.manager.stop(e.alice, job.id, 'V0001');
      expect(stopped.status).toBe('CANCELED');
      expect(stopped.statusReason).toBe('stopped by alice');
      expect(e.scheduler.submissions.get(version.id)!.canceled).toBe(true);
      const err = await expectError(e.jobs.manager.stop(e.alice, job.id, 'V0001'), 'NB_ERR_JOB_STATE', 409);
      expect(err.message).toContain('CANCELED');
      await expectError(e.jobs.agent.authenticate(`Bearer ${e.scheduler.submissions.get(version.id)!.spec.token}`), 'NB_ERR_JOB_TOKEN_INVALID', 401);
    });

    it('should cancel a DEPLOYING version', async () => {
      const { job } = await create(e.alice);
      await until(job.id, 'V0001', 'DEPLOYING');
      expect((await e.jobs.manager.stop(e.alice, job.id, '1')).status).toBe('CANCELED');
    });

    it('should refuse stop, delete and rerun while INITIALIZING', async () => {
      let open!: () => void;
      e.scheduler.submitGate = new Promise(r => (open = r));
      const { job } = await create(e.alice);
      await expectError(e.jobs.manager.stop(e.alice, job.id, 'V0001'), 'NB_ERR_JOB_STATE');
      await expectError(e.jobs.manager.deleteJob(e.alice, job.id), 'NB_ERR_JOB_STATE');
      await expectError(e.jobs.manager.rerun(e.alice, job.id, { fromVersion: null, fields: {} }), 'NB_ERR_JOB_STATE');
      open();
      await until(job.id, 'V0001', 'DEPLOYING');
    });
  });

  describe('#rerun()', () => {
    it('should create V0002 from V0001 with the changed fields', async () => {
      const { job, version } = await create(e.alice, { parameters: [{ name: 'lr', value: '0.1' }, { name: 'epochs', value: '3' }] });
      await until(job.id, 'V0001', 'DEPLOYING');
      e.scheduler.set(version.id, { state: 'failed', reason: 'boom' });
      await until(job.id, 'V0001', 'FAILED');
      const v2 = await e.jobs.manager.rerun(e.alice, job.id, { fromVersion: null, fields: { parameters: [{ name: 'lr', value: '0.01' }], bootFile: 'util.py' } });
      expect(v2.version).toBe(2);
      expect(v2.id).toBe(`${job.id}-V0002`);
      expect(v2.config).toMatchObject({ bootFile: 'util.py', parameters: [{ name: 'lr', value: '0.01' }], codeUrl: 's3://code/iris/' });
      await until(job.id, 'V0002', 'DEPLOYING');
      const versions = await e.jobs.manager.listVersions(e.alice, job.id);
      expect(versions.map(v => [v.version, v.status])).toEqual([[2, 'DEPLOYING'], [1, 'FAILED']]);
      expect((await e.jobs.manager.getJob(e.alice, job.id)).latestVersion).toBe(2);
    });

    it('should check the changed fields like a create', async () => {
      const { job } = await create(e.alice);
      await until(job.id, 'V0001', 'DEPLOYING');
      await expectError(e.jobs.manager.rerun(e.alice, job.id, { fromVersion: null, fields: { bootFile: 'missing.py' } }), 'NB_ERR_JOB_INPUT_NOT_FOUND');
      await expectError(e.jobs.manager.rerun(e.alice, job.id, { fromVersion: 7, fields: {} }), 'NB_ERR_JOB_VERSION_NOT_FOUND', 404);
    });
  });

  describe('#delete()', () => {
    it('should cancel active versions, remove their files, and forget the job (its name is free again)', async () => {
      const { job, version } = await create(e.alice);
      await until(job.id, 'V0001', 'DEPLOYING');
      e.scheduler.set(version.id, { state: 'running' });
      await until(job.id, 'V0001', 'RUNNING');
      await e.jobs.manager.deleteJob(e.alice, job.id);
      const sub = e.scheduler.submissions.get(version.id)!;
      expect(sub.canceled).toBe(true);
      expect(sub.removed).toBe(true);
      await expectError(e.jobs.manager.getJob(e.alice, job.id), 'NB_ERR_JOB_NOT_FOUND', 404);
      await create(e.alice);
    });

    it('should delete one version, and the job with its last version', async () => {
      const { job, version } = await create(e.alice);
      await until(job.id, 'V0001', 'DEPLOYING');
      e.scheduler.set(version.id, { state: 'succeeded' });
      await until(job.id, 'V0001', 'SUCCEEDED');
      await e.jobs.manager.rerun(e.alice, job.id, { fromVersion: null, fields: {} });
      await until(job.id, 'V0002', 'DEPLOYING');
      expect(await e.jobs.manager.deleteVersion(e.alice, job.id, 'V0001')).toEqual({ jobDeleted: false });
      await expectError(e.jobs.manager.getVersion(e.alice, job.id, 'V0001'), 'NB_ERR_JOB_VERSION_NOT_FOUND');
      expect(await e.jobs.manager.deleteVersion(e.alice, job.id, 'V0002')).toEqual({ jobDeleted: true });
      await expectError(e.jobs.manager.getJob(e.alice, job.id), 'NB_ERR_JOB_NOT_FOUND');
    });
  });

  describe('#imageUsers()', () => {
    it('should name the owner\'s live jobs on an image, for the custom-image "in use" check', async () => {
      const { job } = await create(e.alice);
      expect(await e.jobs.manager.imageUsers(e.alice.userId, IMAGE)).toEqual(['training job "iris"']);
      expect(await e.jobs.manager.imageUsers(e.bob.userId, IMAGE)).toEqual([]);
      expect(await e.jobs.manager.imageUsers(e.alice.userId, 'python3.11-cpu-debian12')).toEqual([]);
      await until(job.id, 'V0001', 'DEPLOYING');
      await e.jobs.manager.deleteJob(e.alice, job.id);
      expect(await e.jobs.manager.imageUsers(e.alice.userId, IMAGE)).toEqual([]);
    });
  });

  describe('tenancy', () => {
    it('should answer 404 for another user\'s job and let an administrator see all', async () => {
      const { job } = await create(e.alice);
      await expectError(e.jobs.manager.getJob(e.bob, job.id), 'NB_ERR_JOB_NOT_FOUND', 404);
      await expectError(e.jobs.manager.stop(e.bob, job.id, 'V0001'), 'NB_ERR_JOB_NOT_FOUND', 404);
      await expectError(e.jobs.manager.deleteJob(e.bob, job.id), 'NB_ERR_JOB_NOT_FOUND', 404);
      expect((await e.jobs.manager.listJobs(e.bob, { limit: 10, offset: 0 })).total).toBe(0);
      expect((await e.jobs.manager.getJob(e.admin, job.id)).ownerName).toBe('alice');
      expect((await e.jobs.manager.listJobs(e.admin, { limit: 10, offset: 0, all: true })).total).toBe(1);
    });
  });

  describe('restart', () => {
    it('should resume a version another gateway process left INITIALIZING, and re-query the scheduler', async () => {
      let open!: () => void;
      e.scheduler.submitGate = new Promise(r => (open = r));
      const { job } = await create(e.alice);
      const other = await create(e.alice, { name: 'other' });
      // The first gateway process hangs while submitting (as if it died); a new one starts on
      // the same data with the same replica id.
      const first = e.jobs;
      e.scheduler.submitGate = null;
      e.jobs = await makeService(e.db, e.objects, e.scheduler);
      const v = await until(job.id, 'V0001', 'DEPLOYING');
      await until(other.job.id, 'V0001', 'DEPLOYING');
      e.scheduler.set(other.version.id, { state: 'succeeded' });
      await until(other.job.id, 'V0001', 'SUCCEEDED');
      // The hung one wakes up: its late submit must not disturb the version the new one submitted.
      open();
      await first.dispose();
      expect(e.scheduler.submissions.get(v.id)!.removed).toBe(false);
      expect((await e.jobs.manager.reload(v))!.status).toBe('DEPLOYING');
    });
  });
});
