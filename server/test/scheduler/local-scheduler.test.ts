/**
 * The local scheduler: the adapter contract with real processes, plus its queue and
 * concurrency limit, and queued submissions surviving a restart.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger';
import { LocalScheduler } from '../../src/scheduler/local-scheduler';
import { SchedulerFullError } from '../../src/scheduler/scheduler';
import { FAKE_LAUNCHER, describeSchedulerContract, subjectIn, launchSpec, statusUntil } from './scheduler-contract';

const make = (dir: string, o: { concurrency?: number; queueMax?: number } = {}): LocalScheduler =>
  new LocalScheduler({ dir, launcher: FAKE_LAUNCHER, concurrency: o.concurrency ?? 4, queueMax: o.queueMax ?? 10, stopTimeoutMs: 3_000, log: createLogger('silent') });

describeSchedulerContract('LocalScheduler', () => subjectIn('nbg-local-sched-', dir => make(dir)));

describe('LocalScheduler', () => {
  let dir: string | undefined;
  const schedulers: LocalScheduler[] = [];
  afterEach(async () => {
    for (const s of schedulers.splice(0)) await s.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });
  const open = async (o: { concurrency?: number; queueMax?: number }): Promise<LocalScheduler> => {
    dir ??= await mkdtemp(join(tmpdir(), 'nbg-local-sched-'));
    const s = make(dir, o);
    schedulers.push(s);
    await s.publishApiUrl('http://127.0.0.1:9');
    return s;
  };

  it('should queue beyond the concurrency limit and start the next when one ends', async () => {
    const s = await open({ concurrency: 1 });
    const a = await s.submit(launchSpec(1, { FAKE_SLEEP_MS: '600' }));
    const b = await s.submit(launchSpec(1, { FAKE_SLEEP_MS: '0' }));
    const queued = await s.status(b);
    expect(queued.state).toBe('queued');
    expect((queued as { reason: string }).reason).toContain('1 version(s) run at once');
    expect((await s.status(a)).state).toBe('running');
    await statusUntil(s, a, st => st.state === 'succeeded', 'a succeeded');
    await statusUntil(s, b, st => st.state === 'succeeded', 'b succeeded');
  });

  it('should refuse a submission when the queue is full, and say so beforehand', async () => {
    const s = await open({ concurrency: 1, queueMax: 1 });
    const a = await s.submit(launchSpec(1, { FAKE_SLEEP_MS: '60000' }));
    await s.submit(launchSpec(1, {}));
    expect(await s.full()).toContain('1 versions are queued');
    await expect(s.submit(launchSpec(1, {}))).rejects.toBeInstanceOf(SchedulerFullError);
    await s.cancel(a);
  });

  it('should cancel a queued submission without running it', async () => {
    const s = await open({ concurrency: 1 });
    const a = await s.submit(launchSpec(1, { FAKE_SLEEP_MS: '60000' }));
    const b = await s.submit(launchSpec(1, {}));
    await s.cancel(b);
    expect((await s.status(b)).state).toBe('canceled');
    await s.cancel(a);
    expect((await s.logs(b, { task: 0 })).size).toBe(0);
  });

  it('should start submissions a previous gateway left queued', async () => {
    const first = await open({ concurrency: 1 });
    const a = await first.submit(launchSpec(1, { FAKE_SLEEP_MS: '800' }));
    const b = await first.submit(launchSpec(1, {}));
    await first.dispose();
    const second = await open({ concurrency: 1 });
    expect((await second.status(b)).state).toBe('queued');
    await statusUntil(second, a, st => st.state === 'succeeded', 'a succeeded');
    await statusUntil(second, b, st => st.state === 'succeeded', 'b started by the new scheduler');
  });

  it('should refuse GPU and NPU resources (host processes get no accelerators)', async () => {
    const s = await open({});
    expect(s.unsupported({ cpus: 8, memoryGiB: 64, accelerators: 1, chip: 'gpu' })).toContain('Slurm');
    expect(s.unsupported({ cpus: 2, memoryGiB: 8, accelerators: 0, chip: 'cpu' })).toBeNull();
  });
});
