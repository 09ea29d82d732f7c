/**
 * The contract every scheduler adapter meets (STYLE.md §26), run against the local scheduler
 * (server project) and real Slurm (integration project). The launcher is a stand-in
 * (`test/fixtures/jobs/fake-launcher.cjs`) that behaves as `nbg-job.cjs` does towards its
 * adapter, so the suite needs no gateway.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ISchedulerAdapter, LaunchSpec, SchedulerHandle, SchedulerStatus } from '../../src/scheduler/scheduler';

export const FAKE_LAUNCHER = resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'jobs', 'fake-launcher.cjs');

export interface ContractSubject {
  scheduler: ISchedulerAdapter;
  /** A second adapter over the same state, as a restarted gateway makes. */
  reopen(): Promise<ISchedulerAdapter>;
  dispose(): Promise<void>;
}

/**
 * A contract subject over a temporary directory: `make` builds an adapter on it, `reopen`
 * builds another on the same directory (a restarted gateway), `dispose` removes it all.
 */
export async function subjectIn(prefix: string, make: (dir: string) => ISchedulerAdapter): Promise<ContractSubject> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  let current = make(dir);
  return {
    get scheduler() {
      return current;
    },
    async reopen() {
      current = make(dir);
      return current;
    },
    async dispose() {
      await current.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  };
}

export function launchSpec(tasks: number, env: Record<string, string>): LaunchSpec {
  return {
    id: `ct-${randomBytes(4).toString('hex')}-V0001`,
    displayName: 'nbg:test/contract:V0001',
    tasks,
    resources: { cpus: 2, memoryGiB: 8, accelerators: 0, chip: 'cpu' },
    token: `nbgjob_${randomBytes(8).toString('hex')}`,
    env
  };
}

export async function statusUntil(s: ISchedulerAdapter, h: SchedulerHandle, want: (st: SchedulerStatus) => boolean, what: string, timeoutMs = 20_000): Promise<SchedulerStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: SchedulerStatus | undefined;
  while (Date.now() < deadline) {
    last = await s.status(h);
    if (want(last)) return last;
    await new Promise(r => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}; last status ${JSON.stringify(last)}`);
}

async function fullLog(s: ISchedulerAdapter, h: SchedulerHandle, task: number): Promise<string> {
  let out = '';
  let offset = 0;
  for (;;) {
    const c = await s.logs(h, { task, offset });
    if (c.nextOffset === offset) return out;
    out += c.text;
    offset = c.nextOffset;
  }
}

export function describeSchedulerContract(name: string, make: () => Promise<ContractSubject>): void {
  describe(`${name} (scheduler contract)`, () => {
    const withSubject = (fn: (t: ContractSubject) => Promise<void>) => async () => {
      const t = await make();
      try {
        await fn(t);
      } finally {
        await t.dispose();
      }
    };

    it('should run a task to succeeded and keep its log', withSubject(async ({ scheduler }) => {
      await scheduler.publishApiUrl('http://127.0.0.1:9');
      const h = await scheduler.submit(launchSpec(1, { FAKE_SLEEP_MS: '100' }));
      expect(await statusUntil(scheduler, h, st => st.state === 'succeeded', 'succeeded')).toEqual({ state: 'succeeded' });
      const log = await fullLog(scheduler, h, 0);
      expect(log).toContain('task 0');
      expect(log).toContain('api=http://127.0.0.1:9');
      expect(log).toContain('done with 0');
    }));

    it('should not pass the gateway\'s own settings and secrets to tasks', withSubject(async ({ scheduler }) => {
      await scheduler.publishApiUrl('http://127.0.0.1:9');
      process.env.NBG_ADMIN_PASSWORD = 'do-not-leak';
      try {
        const h = await scheduler.submit(launchSpec(1, {}));
        await statusUntil(scheduler, h, st => st.state === 'succeeded', 'succeeded');
        expect(await fullLog(scheduler, h, 0)).toContain('secret=none');
      } finally {
        delete process.env.NBG_ADMIN_PASSWORD;
      }
    }));

    it('should report a failing task with its exit code', withSubject(async ({ scheduler }) => {
      await scheduler.publishApiUrl('http://127.0.0.1:9');
      const h = await scheduler.submit(launchSpec(1, { FAKE_EXIT: '3' }));
      const st = await statusUntil(scheduler, h, s => s.state === 'failed', 'failed');
      expect(st).toMatchObject({ state: 'failed', exitCode: 3 });
      expect((st as { reason: string }).reason).toContain('3');
    }));

    it('should run two tasks, each with its own index and log', withSubject(async ({ scheduler }) => {
      await scheduler.publishApiUrl('http://127.0.0.1:9');
      const h = await scheduler.submit(launchSpec(2, { FAKE_SLEEP_MS: '200' }));
      await statusUntil(scheduler, h, st => st.state === 'succeeded', 'succeeded');
      expect(await fullLog(scheduler, h, 0)).toContain('task 0 done');
      expect(await fullLog(scheduler, h, 1)).toContain('task 1 done');
    }));

    it('should end the other tasks when one fails', withSubject(async ({ scheduler }) => {
      await scheduler.publishApiUrl('http://127.0.0.1:9');
      const began = Date.now();
      const h = await scheduler.submit(launchSpec(2, { FAKE_SLEEP_MS: '60000', FAKE_FAIL_TASK: '1', FAKE_EXIT: '7', FAKE_FAIL_AFTER_MS: '300' }));
      const st = await statusUntil(scheduler, h, s => s.state === 'failed', 'failed', 30_000);
      expect(Date.now() - began).toBeLessThan(30_000);
      expect((st as { reason: string }).reason).toMatch(/7/);
    }));

    it('should cancel a running submission, and cancel again without error', withSubject(async ({ scheduler }) => {
      await scheduler.publishApiUrl('http://127.0.0.1:9');
      const h = await scheduler.submit(launchSpec(1, { FAKE_SLEEP_MS: '60000' }));
      await statusUntil(scheduler, h, st => st.state === 'running', 'running');
      for (let i = 0; i < 200 && !(await fullLog(scheduler, h, 0)).includes('task 0'); i++) await new Promise(r => setTimeout(r, 50));
      await scheduler.cancel(h);
      expect(await statusUntil(scheduler, h, st => st.state === 'canceled', 'canceled')).toEqual({ state: 'canceled' });
      await scheduler.cancel(h);
      expect(await fullLog(scheduler, h, 0)).toContain('SIGTERM');
    }));

    it('should find a submission again after a restart and follow it to its end', withSubject(async t => {
      await t.scheduler.publishApiUrl('http://127.0.0.1:9');
      const h = await t.scheduler.submit(launchSpec(1, { FAKE_SLEEP_MS: '1500' }));
      await statusUntil(t.scheduler, h, st => st.state === 'running', 'running');
      await t.scheduler.dispose();
      const again = await t.reopen();
      expect((await again.status(h)).state).toBe('running');
      await statusUntil(again, h, st => st.state === 'succeeded', 'succeeded after the restart');
      await again.remove(h);
      expect((await again.status(h)).state).toMatch(/unknown|succeeded/);
    }));

    it('should answer unknown for a handle of another adapter', withSubject(async ({ scheduler }) => {
      expect(await scheduler.status({ v: 1, kind: 'other', id: 'x' })).toMatchObject({ state: 'unknown' });
    }));
  });
}
