/**
 * Wires the training-job services (store, scheduler, webhooks, tracker, job-agent API,
 * manager) from the config, so the composition root adds one call.
 */
import type { Config } from '../config';
import type { ISqlDatabase } from '../db/database';
import type { Logger } from '../logger';
import type { ImageCatalogue } from '../images/image-catalogue';
import type { InstanceManager } from '../instances/manager';
import type { AccessControl } from '../policy/access-control';
import type { IObjectStore } from '../storage/object-store';
import type { ISchedulerAdapter } from '../scheduler/scheduler';
import { selectScheduler } from '../scheduler/select';
import { JobAgentService } from './agent-service';
import { JobStore } from './job-store';
import { JobManager } from './manager';
import { JobConfigCheck } from './config-check';
import { VersionTracker } from './tracker';
import { WebhookDispatcher } from './webhooks';
import { Errors } from '../errors';
import type { AgentRuntime } from './launcher/protocol';
import type { JobRecord, VersionRecord } from './job';

export interface JobServiceDeps {
  config: Config;
  db: ISqlDatabase;
  objects: IObjectStore;
  images: Pick<ImageCatalogue, 'resolve' | 'names'>;
  access?: Pick<AccessControl, 'authorize'>;
  /** Users' storage roots (the object-storage service); absent: locations are not limited. */
  storageRootOf?: (user: { id: string; name: string }) => Promise<{ bucket: string; prefix: string }>;
  /** For jobs submitted from a notebook; absent: only code URLs. */
  instances?: Pick<InstanceManager, 'get' | 'resolveOpen'>;
  replicaId: string;
  log: Logger;
  /** Overrides the configured scheduler (tests). */
  scheduler?: ISchedulerAdapter;
  /** The instance runtime's kind (`local`, `docker`): `jobRuntime: auto` follows it. */
  runtimeKind?: string;
}

/** Port a task's container listens on for the other tasks (PyTorch's usual MASTER_PORT). */
export const TASK_PORT = 29500;

/** How tasks run: host processes or containers of the job's image (setting `jobRuntime`). */
export function jobRuntimeKind(config: Config, schedulerKind: string, runtimeKind: string | undefined): 'process' | 'docker' {
  if (config.jobRuntime !== 'auto') return config.jobRuntime;
  return schedulerKind === 'local' && runtimeKind === 'docker' ? 'docker' : 'process';
}

export interface JobService {
  readonly manager: JobManager;
  readonly agent: JobAgentService;
  readonly tracker: VersionTracker;
  readonly scheduler: ISchedulerAdapter;
  /** Live versions per state (the `nbg_jobs` metric). */
  countByStatus(): Promise<Record<string, number>>;
  /** Resumes interrupted work and starts polling; call once the gateway listens. */
  start(apiUrl: string): Promise<void>;
  dispose(): Promise<void>;
}

export function createJobService(d: JobServiceDeps): JobService {
  const { config } = d;
  const log = d.log.child({ svc: 'jobs' });
  const kind = jobRuntimeKind(config, d.scheduler?.kind ?? config.jobScheduler, d.runtimeKind);
  const scheduler = d.scheduler ?? selectScheduler(config, d.log, kind === 'docker');
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
  const runtime = async (v: VersionRecord, job: JobRecord): Promise<AgentRuntime> => {
    if (kind === 'process') return { kind: 'process', python: config.jobPython };
    const image = await d.images.resolve(null, v.config.image, job.ownerId);
    if (!image) throw Errors.IMAGE_NOT_FOUND(v.config.image, '(it was deleted after the job was created)');
    const flavor = config.flavors.find(f => f.id === v.config.flavor);
    return {
      kind: 'docker',
      image: image.ref,
      cpus: flavor?.cpus ?? 1,
      memoryGiB: flavor?.memoryGiB ?? 1,
      name: `${config.dockerPrefix}job-${v.id.toLowerCase()}`,
      port: TASK_PORT,
      labels: { ...config.dockerLabels, 'nbgateway.job': v.id }
    };
  };
  const agent = new JobAgentService({
    store,
    objects: d.objects,
    runtime,
    onEvent: id => tracker.checkSoon(id),
    log
  });
  const manager = new JobManager({
    store,
    scheduler,
    objects: d.objects,
    tracker,
    check: new JobConfigCheck({
      objects: d.objects,
      images: d.images,
      flavors: config.flavors,
      schedulerKind: scheduler.kind,
      unsupported: (_image, flavor) =>
        scheduler.unsupported?.({ cpus: flavor.cpus, memoryGiB: flavor.memoryGiB, accelerators: flavor.accelerators, chip: flavor.chip }) ?? null,
      storageRootOf: d.storageRootOf,
      webhookAllowPrivate: config.webhookAllowPrivate
    }),
    flavors: config.flavors,
    access: d.access,
    instances: d.instances,
    stagingUrl: config.jobStagingUrl || `s3://${config.storageBucket}/jobs/`,
    replicaId: d.replicaId,
    log
  });
  let started = false;
  return {
    manager, agent, tracker, scheduler,
    countByStatus: () => store.countByStatus(),
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
