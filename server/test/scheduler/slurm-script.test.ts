import { describe, expect, it } from 'vitest';
import { findJobComp, parseKeyValues, parseSqueue, slurmJobName, slurmScript, statusOfSlurm } from '../../src/scheduler/slurm-script';
import type { LaunchSpec } from '../../src/scheduler/scheduler';

const spec = (o: Partial<LaunchSpec> = {}): LaunchSpec => ({
  id: 'abc-V0002', displayName: 'nbg:alice/iris train:V0002', tasks: 2,
  resources: { cpus: 8, memoryGiB: 64, accelerators: 1, chip: 'gpu' }, token: 'secret-token', env: { NBG_JOB_RETRY_SECONDS: "6'0" }, ...o
});
const opts = { dir: '/shared/abc-V0002', apiFile: '/shared/api-url', tokenFile: '/shared/abc-V0002/token', nodePath: '/usr/bin/node', launcher: '/opt/nbg/nbg-job.cjs', packTasks: false, path: '/usr/bin:/bin' };

describe('slurmScript()', () => {
  it('should ask for one task per node with the flavor\'s CPUs, memory per CPU and GPUs', () => {
    const s = slurmScript(spec(), opts);
    expect(s).toContain('#SBATCH --ntasks=2\n#SBATCH --nodes=2\n#SBATCH --ntasks-per-node=1');
    expect(s).toContain('#SBATCH --cpus-per-task=8');
    expect(s).toContain('#SBATCH --mem-per-cpu=8192M');
    expect(s).toContain('#SBATCH --gres=gpu:1');
    expect(s).toContain('#SBATCH --export=NONE');
    expect(s).toContain('#SBATCH --job-name=nbg:alice/iris_train:V0002');
    expect(s).toContain(`export NBG_JOB_RETRY_SECONDS='6'\\''0'`);
    expect(s).toContain("exec srun --export=ALL --kill-on-bad-exit=1 --output='/shared/abc-V0002/task-%t/output.log' '/usr/bin/node' '/opt/nbg/nbg-job.cjs'");
    expect(s).not.toContain('secret-token');
  });

  it('should let tasks share a node when packing, name a partition, and refuse odd variable names', () => {
    const s = slurmScript(spec({ resources: { cpus: 2, memoryGiB: 8, accelerators: 0, chip: 'cpu' } }), { ...opts, packTasks: true, partition: 'train' });
    expect(s).not.toContain('--nodes=');
    expect(s).not.toContain('--gres');
    expect(s).toContain('#SBATCH --partition=train');
    expect(() => slurmScript(spec({ env: { 'A;B': 'x' } }), opts)).toThrow(/invalid environment variable/);
    expect(slurmJobName('a b$c')).toBe('a_b_c');
  });
});

describe('Slurm output parsers', () => {
  it('should read squeue lines, scontrol records and the jobcomp file', () => {
    const q = parseSqueue('12|PENDING|Resources\n13|RUNNING|None\n');
    expect(q.get('12')).toEqual({ jobId: '12', state: 'PENDING', reason: 'Resources' });
    expect(parseKeyValues('JobId=13 JobName=x JobState=FAILED Reason=NonZeroExitCode ExitCode=3:0')).toMatchObject({ JobState: 'FAILED', ExitCode: '3:0' });
    const comp = 'JobId=5 UserId=root(0) JobState=COMPLETED ExitCode=0:0\nJobId=51 JobState=FAILED ExitCode=1:0\nJobId=5 UserId=root(0) JobState=FAILED ExitCode=2:0\n';
    expect(findJobComp(comp, '5')).toMatchObject({ JobState: 'FAILED', ExitCode: '2:0' });
    expect(findJobComp(comp, '6')).toBeUndefined();
  });

  it('should map Slurm states to scheduler states', () => {
    expect(statusOfSlurm('PENDING', { reason: 'Priority' })).toEqual({ state: 'queued', reason: 'Slurm: Priority' });
    expect(statusOfSlurm('PENDING', { reason: 'None' })).toEqual({ state: 'queued' });
    expect(statusOfSlurm('COMPLETING')).toEqual({ state: 'running' });
    expect(statusOfSlurm('COMPLETED')).toEqual({ state: 'succeeded' });
    expect(statusOfSlurm('CANCELLED')).toEqual({ state: 'canceled' });
    expect(statusOfSlurm('FAILED', { exitCode: '3:0' })).toMatchObject({ state: 'failed', exitCode: 3 });
    expect(statusOfSlurm('FAILED', { exitCode: '0:9' })).toMatchObject({ state: 'failed', reason: expect.stringContaining('signal 9') });
    expect(statusOfSlurm('OUT_OF_MEMORY')).toMatchObject({ state: 'failed', reason: expect.stringContaining('memory') });
  });
});
