/**
 * Picks the scheduler adapter once, at wiring time (STYLE.md §8): call sites never branch on it.
 */
import { join } from 'node:path';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { LocalScheduler } from './local-scheduler';
import type { ISchedulerAdapter } from './scheduler';
import { SlurmScheduler } from './slurm-scheduler';
import { removeJobContainers } from './support';

/** The launcher bundle, built next to the kernel gateway (`scripts/build.mjs`). */
export const LAUNCHER_BUNDLE = 'nbg-job.cjs';

/**
 * @param containers - tasks run as containers (`jobRuntime`), so a cancel also removes them.
 */
export function selectScheduler(config: Config, log: Logger, containers = false): ISchedulerAdapter {
  const launcher = join(config.kernelGatewayDir, LAUNCHER_BUNDLE);
  switch (config.jobScheduler) {
    case 'local':
      return new LocalScheduler({
        dir: join(config.dataDir, 'jobs', 'local'),
        launcher,
        concurrency: config.jobConcurrency,
        queueMax: config.jobQueueMax,
        stopTimeoutMs: config.stopTimeoutMs,
        log: log.child({ scheduler: 'local' }),
        ...(containers ? { cleanup: removeJobContainers } : {})
      });
    case 'slurm':
      return new SlurmScheduler({
        sharedDir: config.slurmSharedDir || join(config.dataDir, 'jobs', 'slurm'),
        launcher,
        slurmConf: config.slurmConf,
        partition: config.slurmPartition,
        jobCompFile: config.slurmJobCompFile,
        packTasks: config.slurmPackTasks,
        stopTimeoutMs: Math.max(config.stopTimeoutMs, 30_000),
        log: log.child({ scheduler: 'slurm' })
      });
  }
}
