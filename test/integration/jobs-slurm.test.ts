/**
 * Training jobs on a real Slurm cluster (slurmctld + slurmd + munged on this machine, see
 * test/utils/slurm.ts): the end-to-end suite. Two tasks share the one node (`slurmPackTasks`).
 */
import { afterAll, beforeAll } from 'vitest';
import { processesMatching } from '../utils/processes';
import { startSlurm, type SlurmCluster } from '../utils/slurm';
import { describeJobsEndToEnd } from './jobs-e2e';

let cluster: SlurmCluster;
beforeAll(async () => {
  cluster = await startSlurm();
});
afterAll(async () => {
  await cluster?.stop();
});

describeJobsEndToEnd({
  name: 'Slurm',
  env: () => ({
    NBG_JOB_SCHEDULER: 'slurm',
    NBG_JOB_RUNTIME: 'process',
    NBG_SLURM_CONF: cluster.conf,
    NBG_SLURM_JOBCOMP_FILE: cluster.jobCompFile,
    NBG_SLURM_PACK_TASKS: 'true'
  }),
  // Gone from squeue (which lists pending, running and completing jobs), and no task left.
  gone: async (_gw, versionId) =>
    !(await cluster.run('squeue', ['-h', '-o', '%k'])).includes(`nbgateway:${versionId}`) && (await processesMatching(versionId)).length === 0
});
