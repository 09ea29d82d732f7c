/**
 * Wires the training-job services (store, scheduler, webhooks, tracker, job-agent API,
 * manager) from the config, so the composition root adds one call.
 */
import type { Config } from '../config';
import type { ISqlDatabase } from '../db/database';
import type { Logger } from '../logger';
import type { ImageCatalogue } from '../images/image-catalogue';
import type { AccessControl } from '../policy/access-control';
import type { IObjectStore } from '../storage/object-store';
import type { ISchedulerAdapter } from '../scheduler/scheduler';
import { selectScheduler } from '../scheduler/select';
import { JobAgentService } from './agent-service';
import { JobStore } from './job-store';
import { JobManager } from './manager';
import { VersionTracker } from './tracker';
import { WebhookDispatcher } from './webhooks';

export interface JobServiceDeps {
  config: Config;
  db: ISqlDatabase;
  objects: IObjectStore;
  images: Pick<ImageCatalogue, 'resolve' | 'names'>;
  access?: Pick<AccessControl, 'authorize'>;
  replicaId: string;
  log: Logger;
  /** Overrides the configured scheduler (tests). */
  scheduler?: ISchedulerAdapter;
}

export interface JobService {
  readonly manager: JobManager;
  readonly agent: JobAgentService;
  readonly tracker: VersionTracker;
  readonly scheduler: ISchedulerAdapter;
  /** Resumes interrupted work and starts polling; call once the gateway listens. */
  start(apiUrl: string): Promise<void>;
  dispose(): Promise<void>;
}

export function createJobService(d: JobServiceDeps): JobService {
  const { config } = d;
  const log = d.log.child({ svc: 'jobs' });
  const scheduler = d.scheduler ?? selectScheduler(config, d.log);
  const store = new JobStore(d.db);
  const webhooks = new WebhookDispatcher({
    db: d.db,
    log: log.child({ part: 'webhooks' }),
    maxAttempts: config.webhookMaxAttempts,
    baseDelayMs: config.webhookRetryBaseMs,
    maxDelayMs: 300_000,
    timeoutMs: 10_000,
    allowPrivate: config.webhookAllowPrivate
  });
  const tracker = new VersionTracker({ store, scheduler, objects: d.objects, webhooks, pollIntervalMs: config.jobPollIntervalMs, log });
  const agent = new JobAgentService({
    store,
    objects: d.objects,
    runtime: () => ({ kind: 'process', python: config.jobPython }),
    onEvent: id => tracker.check(id),
    log
  });
  const manager = new JobManager({
    store,
    scheduler,
    objects: d.objects,
    tracker,
    images: d.images,
    flavors: config.flavors,
    access: d.access,
    unsupported: (_image, flavor) =>
      scheduler.unsupported?.({ cpus: flavor.cpus, memoryGiB: flavor.memoryGiB, accelerators: flavor.accelerators, chip: flavor.chip }) ?? null,
    replicaId: d.replicaId,
    log
  });
  let started = false;
  return {
    manager, agent, tracker, scheduler,
    async start(apiUrl) {
      await scheduler.publishApiUrl(config.jobApiUrl || apiUrl);
      if (started) return;
      started = true;
      await manager.start();
      tracker.start();
      webhooks.start();
    },
    async dispose() {
      await manager.dispose();
      await tracker.dispose();
      await webhooks.dispose();
      await scheduler.dispose();
    }
  };
}
