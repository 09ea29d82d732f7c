/**
 * The Slurm adapter against a real slurmctld + slurmd + munged on this machine: the
 * scheduler contract (sbatch, squeue/scontrol/jobcomp, scancel, per-task logs), and what is
 * particular to Slurm.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../server/src/logger';
import { SlurmScheduler } from '../../server/src/scheduler/slurm-scheduler';
import { FAKE_LAUNCHER, describeSchedulerContract, subjectIn, launchSpec, statusUntil } from '../../server/test/scheduler/scheduler-contract';
import { startSlurm, type SlurmCluster } from '../utils/slurm';

let cluster: SlurmCluster;
beforeAll(async () => {
  // MinJobAge=2: ended jobs leave scontrol quickly, so the jobcomp path is exercised too.
  cluster = await startSlurm({ minJobAge: 2 });
});
afterAll(async () => {
  await cluster?.stop();
});

const make = (sharedDir: string): SlurmScheduler =>
  new SlurmScheduler({
    sharedDir, launcher: FAKE_LAUNCHER, slurmConf: cluster.conf, jobCompFile: cluster.jobCompFile,
    packTasks: true, stopTimeoutMs: 20_000, log: createLogger('silent')
  });

describeSchedulerContract('SlurmScheduler', () => subjectIn('nbg-slurm-shared-', dir => make(dir)));

describe('SlurmScheduler', () => {
  it('should ask Slurm for the flavor\'s resources and drop a canceled job from squeue', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nbg-slurm-shared-'));
    const s = make(dir);
    try {
      await s.publishApiUrl('http://127.0.0.1:9');
      const spec = launchSpec(2, { FAKE_SLEEP_MS: '60000' });
      const h = await s.submit(spec);
      await statusUntil(s, h, st => st.state === 'running', 'running');
      const jobId = String(h.jobId);
      const info = await cluster.run('scontrol', ['show', 'job', '-o', jobId]);
      expect(info).toContain('NumTasks=2');
      expect(info).toMatch(/CPUs\/Task=2/);
      expect(info).toContain(`Comment=nbgateway:${spec.id}`);
      const script = await readFile(join(dir, spec.id, 'job.sbatch'), 'utf8');
      expect(script).toContain('--mem-per-cpu=4096M');
      expect(script).toContain('--export=NONE');
      expect(script).not.toContain(spec.token);
      await s.cancel(h);
      expect((await cluster.run('squeue', ['-h', '-j', jobId])).trim()).toBe('');
      expect((await s.status(h)).state).toBe('canceled');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('should find a job again from its id after a restart, and submit once per id', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nbg-slurm-shared-'));
    try {
      const spec = launchSpec(1, { FAKE_SLEEP_MS: '100' });
      const first = make(dir);
      await first.publishApiUrl('http://127.0.0.1:9');
      const h = await first.submit(spec);
      const again = await make(dir).submit(spec);
      expect(again).toEqual(h);
      await statusUntil(first, h, st => st.state === 'succeeded', 'succeeded');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
