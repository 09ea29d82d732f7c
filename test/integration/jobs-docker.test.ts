/**
 * Training jobs on the local scheduler with the Docker runtime: each task runs in a container
 * of the job's image (as ma-user, with the flavor's limits), the tasks of a version on their
 * own bridge network. Resources are named `nbtest-job-…` and removed by the jobs themselves.
 */
import { execFileSync } from 'node:child_process';
import { dockerUsable, requireImages } from './docker-helpers';
import { describeJobsEndToEnd, SKLEARN_IMAGE } from './jobs-e2e';

const containersOf = (versionId: string): string =>
  execFileSync('docker', ['ps', '-aq', '--filter', `label=nbgateway.job=${versionId}`], { encoding: 'utf8' }).trim();

describeJobsEndToEnd({
  name: 'local (Docker runtime)',
  skip: !(await dockerUsable()),
  before: () => requireImages(SKLEARN_IMAGE),
  env: () => ({ NBG_JOB_SCHEDULER: 'local', NBG_JOB_RUNTIME: 'docker', NBG_DOCKER_PREFIX: 'nbtest-' }),
  gone: async (_gw, versionId) => containersOf(versionId) === ''
});
