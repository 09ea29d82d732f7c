/**
 * Gateway configuration, parsed once and frozen (STYLE.md §14).
 *
 * Order: defaults < JSON file (`--config` or `NBG_CONFIG`) < environment (`NBG_*`) < flags.
 * Secrets (the first admin's password) come only from the environment or the file.
 * Nothing else in the server reads `process.env`.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { LevelWithSilent } from 'pino';
import { DEFAULT_FLAVORS, parseFlavors, type Flavor } from './catalogue/flavors';
import { parseFlags } from './config-flags';

export type RuntimeChoice = 'auto' | 'local' | 'docker';

export interface Config {
  /** Address the public listener binds. */
  readonly host: string;
  /** Public port; 0 picks a free one. */
  readonly port: number;
  /** URL users reach the gateway at (printed at start, used in links); derived when empty. */
  readonly publicUrl: string;
  /** Where state, instance work dirs and logs live. */
  readonly dataDir: string;
  /** `sqlite:<file>` (embedded default) or `postgres://…`. */
  readonly databaseUrl: string;
  /** Which runtime driver runs instances; `auto` uses Docker when dockerd answers. */
  readonly runtime: RuntimeChoice;
  /** Instances per user, counting every state except deleted (SPEC §1). */
  readonly instanceQuota: number;
  /**
   * Spare kernels each instance keeps started, so a new notebook's first cell does not wait
   * for Python to start (0–4; each costs ~55–70 MiB of the instance's memory). null: the
   * agent's default (1), which an image can change with `ENV NBG_KG_KERNEL_PRESPAWN`.
   */
  readonly kernelPrespawn: number | null;
  /** Longest a start may take before the instance goes to ERROR. */
  readonly startTimeoutMs: number;
  /** Grace for an agent to stop before it is killed. */
  readonly stopTimeoutMs: number;
  /** Interval of the liveness check of RUNNING instances (plus jitter). */
  readonly pollIntervalMs: number;
  /** Days a deleted instance's `~/work` is kept before it is purged (SPEC §1). */
  readonly volumeRetentionDays: number;
  /** Name of the administrator created on first start. */
  readonly adminUser: string;
  /** Password of that administrator (secret: env `NBG_ADMIN_PASSWORD` or file); generated when empty. */
  readonly adminPassword: string;
  /** Lifetime of a browser/CLI session created by password sign-in. */
  readonly sessionTtlHours: number;
  /** The image catalogue (SPEC §3). */
  readonly catalogueFile: string;
  /** The built kernel gateway (agent) that drivers run in instances. */
  readonly kernelGatewayDir: string;
  /** The built console and JupyterLab (`web/dist`), served at `/`, `/static/` and `/notebooks/<id>/lab`. */
  readonly webDir: string;
  /** Flavors (SPEC §2); configuration, not code. */
  readonly flavors: readonly Flavor[];
  readonly logLevel: LevelWithSilent;
  // ---- training jobs (issue 9) ----
  /** Where training jobs run: `local` (this host, embedded default) or `slurm`. */
  readonly jobScheduler: 'local' | 'slurm';
  /** URL job launchers use to reach the gateway's job-agent API; empty: derived from the listen address. */
  readonly jobApiUrl: string;
  /** Local scheduler: job versions running at once. */
  readonly jobConcurrency: number;
  /** Local scheduler: versions waiting beyond those; more are refused (503). */
  readonly jobQueueMax: number;
  /** Interval of the job status poll (plus jitter). */
  readonly jobPollIntervalMs: number;
  /** Largest node count (tasks) of a job. */
  readonly jobMaxNodes: number;
  /** Python that runs `.py` boot files of jobs run as host processes. */
  readonly jobPython: string;
  /** How job tasks run: `process` (host processes), `docker` (the job's image), `auto` (docker when the instance runtime is Docker and the scheduler is local). */
  readonly jobRuntime: 'auto' | 'process' | 'docker';
  /** Where the directories of notebooks submitted as jobs are copied (`<url>/<owner id>/<job id>/<dir>/`); empty: `s3://<storageBucket>/jobs/`. */
  readonly jobStagingUrl: string;
  /** Slurm: the `slurm.conf` its commands use; empty: Slurm's default. */
  readonly slurmConf: string;
  /** Slurm: partition jobs are submitted to; empty: the cluster's default. */
  readonly slurmPartition: string;
  /** Slurm: a directory every node sees (batch scripts, logs, task directories); empty: `<dataDir>/jobs/slurm`. */
  readonly slurmSharedDir: string;
  /** Slurm: the `jobcomp/filetxt` file, read for jobs `scontrol` has forgotten; empty: none. */
  readonly slurmJobCompFile: string;
  /** Slurm: let several tasks of a job share a node (single-node clusters); otherwise one task per node. */
  readonly slurmPackTasks: boolean;
  /** Webhooks: attempts per event delivery. */
  readonly webhookMaxAttempts: number;
  /** Webhooks: delay before the first retry; doubles per attempt (with jitter) up to 5 minutes. */
  readonly webhookRetryBaseMs: number;
  /** Webhooks: allow loopback and private-network destinations. */
  readonly webhookAllowPrivate: boolean;
  // ---- control plane (issue 5) ----
  /** Days audit records are kept (SPEC §9). */
  readonly auditRetentionDays: number;
  /** Largest custom image accepted by save-as-image, in bytes (SPEC §3: 9.5 GB). */
  readonly imageMaxBytes: number;
  /** Registry (`host:port[/prefix]`) saved images are pushed to; empty for none. */
  readonly registry: string;
  /** Address of the Prometheus `/metrics` listener, separate from the public one. */
  readonly metricsHost: string;
  /** Port of the `/metrics` listener; 0 picks a free one (logged at start); -1 turns it off. */
  readonly metricsPort: number;
  /** Failed sign-ins allowed per user name (and 4× that per address) within the window. */
  readonly loginMaxFailures: number;
  /** Window of the sign-in rate limit. */
  readonly loginWindowSeconds: number;
  /** Interval of the lease check (TIMING expiry, IDLE detection). */
  readonly leaseCheckIntervalMs: number;
  /** Smallest IDLE timeout a lease may ask for, in minutes (may be fractional). */
  readonly leaseIdleMinMinutes: number;
  /** IDLE timeout given to new instances that ask for none; 0 = no idle stop by default. */
  readonly defaultIdleMinutes: number;
  /** Hours an `Idempotency-Key` is remembered. */
  readonly idempotencyTtlHours: number;
  /** Trust `X-Forwarded-For` from a reverse proxy for the client address (audit, rate limits). */
  readonly trustProxy: boolean;
  /** Longest a client may take to send request headers (slowloris), in ms. */
  readonly httpHeadersTimeoutMs: number;
  /** Longest a client may take to send a whole request, body included, in ms (0 = no limit). */
  readonly httpRequestTimeoutMs: number;
  /** Connections one address may hold before sending their first request head (0 = no cap). */
  readonly httpMaxPendingPerAddress: number;
  // ---- Docker runtime (issue 4) ----
  /** Prefix of the containers, networks and layer images this gateway creates on dockerd. */
  readonly dockerPrefix: string;
  /** Extra labels (`k=v,k=v`) on everything the Docker runtime creates. */
  readonly dockerLabels: Readonly<Record<string, string>>;
  /** IPv4 pool the per-user networks take /26 blocks from. */
  readonly dockerNetworkPool: string;
  /** Reject instances' traffic to the cloud metadata service (169.254.169.254) with a host firewall rule. */
  readonly dockerBlockCloudMetadata: boolean;
  /** Where `~/work` volume files live; empty = `<dataDir>/volumes`. */
  readonly volumesDir: string;
  /** MiB per GB of requested storage (1024); a smaller unit makes test volumes small. */
  readonly storageUnitMiB: number;
  /** Most processes (and threads) one instance may run. */
  readonly pidsLimit: number;
  // ---- SSH (issue 6) ----
  /** Address the SSH server binds; empty: the same as `host`. */
  readonly sshHost: string;
  /** SSH port (VS Code, PyCharm, ssh/scp/sftp/rsync); 0 picks a free one; -1 turns SSH off. */
  readonly sshPort: number;
  /** `host` or `host:port` users connect to over SSH (behind NAT or a load balancer); empty: the public URL's host and the SSH port. */
  readonly sshPublicAddress: string;
  // ---- Object storage (issue 7; docs/storage.md) ----
  /** `fs` (embedded: a directory tree under `objectStoreDir`) or `s3` (any S3-compatible store). */
  readonly objectStore: 'fs' | 's3';
  /** Root of the embedded store; empty: `<dataDir>/objects`. */
  readonly objectStoreDir: string;
  /** S3 endpoint URL as the gateway reaches it; empty: AWS. */
  readonly s3Endpoint: string;
  /** S3 endpoint URL as instances reach it; empty: `s3Endpoint`. */
  readonly s3InstanceEndpoint: string;
  readonly s3Region: string;
  /** Path-style URLs (`host/bucket/key`), as radosgw and MinIO usually need. */
  readonly s3ForcePathStyle: boolean;
  /** The gateway's S3 access key (env `NBG_S3_ACCESS_KEY_ID` or the config file only). */
  readonly s3AccessKeyId: string;
  /** The gateway's S3 secret key (secret: env `NBG_S3_SECRET_ACCESS_KEY` or the config file only). */
  readonly s3SecretAccessKey: string;
  /** What instances get: `sts` (temporary keys limited to the owner's prefix) or `shared` (the gateway's keys; one tenant only). */
  readonly s3InstanceCredentials: 'sts' | 'shared';
  /** Role the gateway assumes for instances' temporary keys (`sts`). */
  readonly s3StsRoleArn: string;
  /** STS endpoint; empty: `s3Endpoint`. */
  readonly s3StsEndpoint: string;
  /** Lifetime of instances' temporary keys; they are renewed at half-life. */
  readonly s3CredentialTtlSeconds: number;
  /** Bucket of users' storage roots unless an administrator sets another. */
  readonly storageBucket: string;
  /** Each user's root prefix; `{user}` is replaced by the user name. */
  readonly storageUserPrefix: string;
  /** Sync OBS: most files one sync may copy (SPEC §4). */
  readonly syncMaxFiles: number;
  /** Sync OBS: largest `~/work` after a sync, in MB of 1024 × 1024 bytes (SPEC §4). */
  readonly syncMaxWorkMB: number;
}

type Scalar = Exclude<keyof Config, 'flavors'>;

interface Field {
  key: Scalar;
  flag?: string;
  env: string;
  help: string;
  secret?: boolean;
  parse: (raw: string) => unknown;
}

const str = (v: string): string => v;
const int = (name: string, min = 0) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}, got "${v}"`);
  return n;
};
const intIn = (name: string, min: number, max: number) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer from ${min} to ${max}, got "${v}"`);
  return n;
};
const num = (name: string, min = 0) => (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new Error(`${name} must be a number ≥ ${min}, got "${v}"`);
  return n;
};
const bool = (name: string) => (v: string): boolean => {
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new Error(`${name} must be true or false, got "${v}"`);
};
const oneOf = <T extends string>(name: string, values: readonly T[]) => (v: string): T => {
  if (!values.includes(v as T)) throw new Error(`${name} must be one of ${values.join(', ')}; got "${v}"`);
  return v as T;
};
const dockerPrefix = (v: string): string => {
  if (!/^[a-z0-9][a-z0-9_.-]{0,30}$/.test(v)) throw new Error(`dockerPrefix must be 1–31 characters of [a-z0-9_.-], got "${v}"`);
  return v;
};
const labels = (v: string): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const pair of v.split(',').filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`dockerLabels must be k=v pairs separated by commas, got "${pair}"`);
    out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
};

/** Every scalar setting with its flag, environment variable and help. */
export const FIELDS: readonly Field[] = [
  { key: 'host', flag: '--host', env: 'NBG_HOST', help: 'address to listen on', parse: str },
  { key: 'port', flag: '--port', env: 'NBG_PORT', help: 'port to listen on (0 = any)', parse: int('port') },
  { key: 'publicUrl', flag: '--public-url', env: 'NBG_PUBLIC_URL', help: 'URL users reach the gateway at', parse: str },
  { key: 'dataDir', flag: '--data-dir', env: 'NBG_DATA_DIR', help: 'state, work dirs and logs', parse: str },
  { key: 'databaseUrl', flag: '--database-url', env: 'NBG_DATABASE_URL', help: 'sqlite:<file> or postgres://…', secret: false, parse: str },
  { key: 'runtime', flag: '--runtime', env: 'NBG_RUNTIME', help: 'auto, local or docker', parse: oneOf('runtime', ['auto', 'local', 'docker'] as const) },
  { key: 'instanceQuota', flag: '--instance-quota', env: 'NBG_INSTANCE_QUOTA', help: 'instances per user', parse: int('instanceQuota', 1) },
  {
    key: 'kernelPrespawn', flag: '--kernel-prespawn', env: 'NBG_KERNEL_PRESPAWN', help: 'spare kernels per instance, 0–4 (empty: the image decides, default 1)',
    parse: (v: string): number | null => (v === '' ? null : intIn('kernelPrespawn', 0, 4)(v))
  },
  { key: 'startTimeoutMs', flag: '--start-timeout-ms', env: 'NBG_START_TIMEOUT_MS', help: 'longest start', parse: int('startTimeoutMs', 1) },
  { key: 'stopTimeoutMs', flag: '--stop-timeout-ms', env: 'NBG_STOP_TIMEOUT_MS', help: 'grace before kill on stop', parse: int('stopTimeoutMs', 1) },
  { key: 'pollIntervalMs', flag: '--poll-interval-ms', env: 'NBG_POLL_INTERVAL_MS', help: 'liveness check interval', parse: int('pollIntervalMs', 100) },
  { key: 'volumeRetentionDays', flag: '--volume-retention-days', env: 'NBG_VOLUME_RETENTION_DAYS', help: 'days deleted work dirs are kept', parse: int('volumeRetentionDays') },
  { key: 'adminUser', flag: '--admin-user', env: 'NBG_ADMIN_USER', help: 'first administrator name', parse: str },
  { key: 'adminPassword', env: 'NBG_ADMIN_PASSWORD', help: 'first administrator password (env/file only)', secret: true, parse: str },
  { key: 'sessionTtlHours', flag: '--session-ttl-hours', env: 'NBG_SESSION_TTL_HOURS', help: 'sign-in session lifetime', parse: int('sessionTtlHours', 1) },
  { key: 'catalogueFile', flag: '--catalogue', env: 'NBG_CATALOGUE', help: 'image catalogue JSON', parse: str },
  { key: 'kernelGatewayDir', flag: '--kernel-gateway-dir', env: 'NBG_KERNEL_GATEWAY_DIR', help: 'built kernel gateway (agent)', parse: str },
  { key: 'webDir', flag: '--web-dir', env: 'NBG_WEB_DIR', help: 'built console and JupyterLab assets', parse: str },
  { key: 'imageMaxBytes', flag: '--image-max-bytes', env: 'NBG_IMAGE_MAX_BYTES', help: 'largest custom image (bytes)', parse: int('imageMaxBytes', 1) },
  { key: 'registry', flag: '--registry', env: 'NBG_REGISTRY', help: 'registry saved images are pushed to (host:port[/prefix])', parse: str },
  { key: 'auditRetentionDays', flag: '--audit-retention-days', env: 'NBG_AUDIT_RETENTION_DAYS', help: 'days audit records are kept', parse: int('auditRetentionDays', 1) },
  { key: 'metricsHost', flag: '--metrics-host', env: 'NBG_METRICS_HOST', help: 'address of the /metrics listener', parse: str },
  { key: 'metricsPort', flag: '--metrics-port', env: 'NBG_METRICS_PORT', help: '/metrics port (0 = any, -1 = off)', parse: int('metricsPort', -1) },
  { key: 'loginMaxFailures', flag: '--login-max-failures', env: 'NBG_LOGIN_MAX_FAILURES', help: 'failed sign-ins per user name per window', parse: int('loginMaxFailures', 1) },
  { key: 'loginWindowSeconds', flag: '--login-window-seconds', env: 'NBG_LOGIN_WINDOW_SECONDS', help: 'sign-in rate-limit window', parse: int('loginWindowSeconds', 1) },
  { key: 'leaseCheckIntervalMs', flag: '--lease-check-interval-ms', env: 'NBG_LEASE_CHECK_INTERVAL_MS', help: 'auto-stop check interval', parse: int('leaseCheckIntervalMs', 100) },
  { key: 'leaseIdleMinMinutes', flag: '--lease-idle-min-minutes', env: 'NBG_LEASE_IDLE_MIN_MINUTES', help: 'smallest IDLE timeout allowed (minutes)', parse: num('leaseIdleMinMinutes') },
  { key: 'defaultIdleMinutes', flag: '--default-idle-minutes', env: 'NBG_DEFAULT_IDLE_MINUTES', help: 'IDLE timeout of new instances (0 = none)', parse: num('defaultIdleMinutes') },
  { key: 'idempotencyTtlHours', flag: '--idempotency-ttl-hours', env: 'NBG_IDEMPOTENCY_TTL_HOURS', help: 'hours an Idempotency-Key is kept', parse: int('idempotencyTtlHours', 1) },
  { key: 'trustProxy', flag: '--trust-proxy', env: 'NBG_TRUST_PROXY', help: 'trust X-Forwarded-For for client addresses', parse: bool('trustProxy') },
  { key: 'httpHeadersTimeoutMs', flag: '--http-headers-timeout-ms', env: 'NBG_HTTP_HEADERS_TIMEOUT_MS', help: 'longest a client may take to send headers', parse: int('httpHeadersTimeoutMs', 500) },
  { key: 'httpRequestTimeoutMs', flag: '--http-request-timeout-ms', env: 'NBG_HTTP_REQUEST_TIMEOUT_MS', help: 'longest a client may take to send a request (0 = none)', parse: int('httpRequestTimeoutMs', 0) },
  { key: 'httpMaxPendingPerAddress', flag: '--http-max-pending-per-address', env: 'NBG_HTTP_MAX_PENDING_PER_ADDRESS', help: 'connections per address before their headers (0 = no cap)', parse: int('httpMaxPendingPerAddress', 0) },
  { key: 'dockerPrefix', flag: '--docker-prefix', env: 'NBG_DOCKER_PREFIX', help: 'name prefix of Docker resources', parse: dockerPrefix },
  { key: 'dockerLabels', flag: '--docker-labels', env: 'NBG_DOCKER_LABELS', help: 'extra labels k=v,k=v on Docker resources', parse: labels },
  { key: 'dockerNetworkPool', flag: '--docker-network-pool', env: 'NBG_DOCKER_NETWORK_POOL', help: 'IPv4 CIDR for per-user networks', parse: str },
  { key: 'dockerBlockCloudMetadata', flag: '--docker-block-cloud-metadata', env: 'NBG_DOCKER_BLOCK_CLOUD_METADATA', help: 'keep instances from 169.254.169.254 with an iptables rule (true/false)', parse: bool('dockerBlockCloudMetadata') },
  { key: 'volumesDir', flag: '--volumes-dir', env: 'NBG_VOLUMES_DIR', help: 'where ~/work volume files live', parse: str },
  { key: 'storageUnitMiB', flag: '--storage-unit-mib', env: 'NBG_STORAGE_UNIT_MIB', help: 'MiB per GB of storage (tests shrink it)', parse: int('storageUnitMiB', 1) },
  { key: 'pidsLimit', flag: '--pids-limit', env: 'NBG_PIDS_LIMIT', help: 'processes per instance', parse: int('pidsLimit', 64) },
  { key: 'jobScheduler', flag: '--job-scheduler', env: 'NBG_JOB_SCHEDULER', help: 'where training jobs run: local or slurm', parse: oneOf('jobScheduler', ['local', 'slurm'] as const) },
  { key: 'jobApiUrl', flag: '--job-api-url', env: 'NBG_JOB_API_URL', help: 'URL job launchers reach the gateway at', parse: str },
  { key: 'jobConcurrency', flag: '--job-concurrency', env: 'NBG_JOB_CONCURRENCY', help: 'local scheduler: versions running at once', parse: int('jobConcurrency', 1) },
  { key: 'jobQueueMax', flag: '--job-queue-max', env: 'NBG_JOB_QUEUE_MAX', help: 'local scheduler: versions waiting', parse: int('jobQueueMax', 0) },
  { key: 'jobPollIntervalMs', flag: '--job-poll-interval-ms', env: 'NBG_JOB_POLL_INTERVAL_MS', help: 'job status poll interval', parse: int('jobPollIntervalMs', 50) },
  { key: 'jobMaxNodes', flag: '--job-max-nodes', env: 'NBG_JOB_MAX_NODES', help: 'largest node count of a job', parse: int('jobMaxNodes', 1) },
  { key: 'jobPython', flag: '--job-python', env: 'NBG_JOB_PYTHON', help: 'python for jobs run as processes', parse: str },
  { key: 'jobRuntime', flag: '--job-runtime', env: 'NBG_JOB_RUNTIME', help: 'auto, process or docker', parse: oneOf('jobRuntime', ['auto', 'process', 'docker'] as const) },
  { key: 'jobStagingUrl', flag: '--job-staging-url', env: 'NBG_JOB_STAGING_URL', help: 'object-storage directory for submitted notebooks', parse: str },
  { key: 'slurmConf', flag: '--slurm-conf', env: 'NBG_SLURM_CONF', help: 'slurm.conf for Slurm commands', parse: str },
  { key: 'slurmPartition', flag: '--slurm-partition', env: 'NBG_SLURM_PARTITION', help: 'Slurm partition for jobs', parse: str },
  { key: 'slurmSharedDir', flag: '--slurm-shared-dir', env: 'NBG_SLURM_SHARED_DIR', help: 'directory shared with Slurm nodes', parse: str },
  { key: 'slurmJobCompFile', flag: '--slurm-jobcomp-file', env: 'NBG_SLURM_JOBCOMP_FILE', help: 'Slurm jobcomp/filetxt file', parse: str },
  { key: 'slurmPackTasks', flag: '--slurm-pack-tasks', env: 'NBG_SLURM_PACK_TASKS', help: 'several tasks of a job may share a node', parse: bool('slurmPackTasks') },
  { key: 'webhookMaxAttempts', flag: '--webhook-max-attempts', env: 'NBG_WEBHOOK_MAX_ATTEMPTS', help: 'attempts per webhook delivery', parse: int('webhookMaxAttempts', 1) },
  { key: 'webhookRetryBaseMs', flag: '--webhook-retry-base-ms', env: 'NBG_WEBHOOK_RETRY_BASE_MS', help: 'first webhook retry delay', parse: int('webhookRetryBaseMs', 1) },
  { key: 'webhookAllowPrivate', flag: '--webhook-allow-private', env: 'NBG_WEBHOOK_ALLOW_PRIVATE', help: 'allow webhooks to loopback/private addresses', parse: bool('webhookAllowPrivate') },
  { key: 'sshHost', flag: '--ssh-host', env: 'NBG_SSH_HOST', help: 'SSH bind address (empty: same as --host)', parse: str },
  { key: 'sshPort', flag: '--ssh-port', env: 'NBG_SSH_PORT', help: 'SSH port (0 = any, -1 = off)', parse: int('sshPort', -1) },
  { key: 'sshPublicAddress', flag: '--ssh-public-address', env: 'NBG_SSH_PUBLIC_ADDRESS', help: 'host[:port] users reach SSH at', parse: str },
  { key: 'objectStore', flag: '--object-store', env: 'NBG_OBJECT_STORE', help: 'fs (embedded) or s3', parse: oneOf('objectStore', ['fs', 's3'] as const) },
  { key: 'objectStoreDir', flag: '--object-store-dir', env: 'NBG_OBJECT_STORE_DIR', help: 'embedded store root (default <dataDir>/objects)', parse: str },
  { key: 's3Endpoint', flag: '--s3-endpoint', env: 'NBG_S3_ENDPOINT', help: 'S3 endpoint URL (empty: AWS)', parse: str },
  { key: 's3InstanceEndpoint', flag: '--s3-instance-endpoint', env: 'NBG_S3_INSTANCE_ENDPOINT', help: 'S3 endpoint as instances reach it', parse: str },
  { key: 's3Region', flag: '--s3-region', env: 'NBG_S3_REGION', help: 'S3 region', parse: str },
  { key: 's3ForcePathStyle', flag: '--s3-force-path-style', env: 'NBG_S3_FORCE_PATH_STYLE', help: 'path-style S3 URLs (true/false)', parse: bool('s3ForcePathStyle') },
  { key: 's3AccessKeyId', env: 'NBG_S3_ACCESS_KEY_ID', help: 'gateway S3 access key (env/file only)', secret: true, parse: str },
  { key: 's3SecretAccessKey', env: 'NBG_S3_SECRET_ACCESS_KEY', help: 'gateway S3 secret key (env/file only)', secret: true, parse: str },
  { key: 's3InstanceCredentials', flag: '--s3-instance-credentials', env: 'NBG_S3_INSTANCE_CREDENTIALS', help: 'sts (scoped temporary keys) or shared', parse: oneOf('s3InstanceCredentials', ['sts', 'shared'] as const) },
  { key: 's3StsRoleArn', flag: '--s3-sts-role-arn', env: 'NBG_S3_STS_ROLE_ARN', help: 'role assumed for instance keys', parse: str },
  { key: 's3StsEndpoint', flag: '--s3-sts-endpoint', env: 'NBG_S3_STS_ENDPOINT', help: 'STS endpoint (empty: the S3 endpoint)', parse: str },
  { key: 's3CredentialTtlSeconds', flag: '--s3-credential-ttl-seconds', env: 'NBG_S3_CREDENTIAL_TTL_SECONDS', help: 'lifetime of instance keys', parse: int('s3CredentialTtlSeconds', 900) },
  { key: 'storageBucket', flag: '--storage-bucket', env: 'NBG_STORAGE_BUCKET', help: 'bucket of users\' storage roots', parse: str },
  { key: 'storageUserPrefix', flag: '--storage-user-prefix', env: 'NBG_STORAGE_USER_PREFIX', help: 'user root prefix ({user} = name)', parse: str },
  { key: 'syncMaxFiles', flag: '--sync-max-files', env: 'NBG_SYNC_MAX_FILES', help: 'Sync OBS: files per sync', parse: int('syncMaxFiles', 1) },
  { key: 'syncMaxWorkMB', flag: '--sync-max-work-mb', env: 'NBG_SYNC_MAX_WORK_MB', help: 'Sync OBS: largest ~/work after a sync (MB)', parse: int('syncMaxWorkMB', 1) },
  { key: 'logLevel', flag: '--log-level', env: 'NBG_LOG_LEVEL', help: 'trace … fatal, or silent', parse: oneOf('logLevel', ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const) }
];

/**
 * Defaults, relative to the installation root (the repository, or /opt/nbgateway in the image).
 */
export function defaults(installRoot: string): Config {
  const dataDir = join(installRoot, '.nbg');
  return {
    host: '127.0.0.1',
    port: 8000,
    publicUrl: '',
    dataDir,
    databaseUrl: '',
    runtime: 'auto',
    instanceQuota: 10,
    kernelPrespawn: null,
    startTimeoutMs: 120_000,
    stopTimeoutMs: 15_000,
    pollIntervalMs: 5_000,
    volumeRetentionDays: 7,
    adminUser: 'admin',
    adminPassword: '',
    sessionTtlHours: 12,
    catalogueFile: join(installRoot, 'images', 'catalogue.json'),
    kernelGatewayDir: join(installRoot, 'kernel-gateway', 'dist'),
    webDir: join(installRoot, 'web', 'dist'),
    flavors: DEFAULT_FLAVORS,
    logLevel: 'info',
    jobScheduler: 'local',
    jobApiUrl: '',
    jobConcurrency: 2,
    jobQueueMax: 100,
    jobPollIntervalMs: 1_000,
    jobMaxNodes: 16,
    jobPython: '/usr/bin/python3',
    jobStagingUrl: '',
    jobRuntime: 'auto',
    slurmConf: '',
    slurmPartition: '',
    slurmSharedDir: '',
    slurmJobCompFile: '',
    slurmPackTasks: false,
    webhookMaxAttempts: 8,
    webhookRetryBaseMs: 2_000,
    webhookAllowPrivate: false,
    auditRetentionDays: 7,
    imageMaxBytes: Math.round(9.5 * 1024 ** 3),
    registry: '',
    metricsHost: '127.0.0.1',
    metricsPort: 0,
    loginMaxFailures: 5,
    loginWindowSeconds: 300,
    leaseCheckIntervalMs: 15_000,
    leaseIdleMinMinutes: 5,
    defaultIdleMinutes: 0,
    idempotencyTtlHours: 24,
    trustProxy: false,
    httpHeadersTimeoutMs: 20_000,
    // Node's default: large uploads (job outputs, files through the proxy) must finish within it.
    httpRequestTimeoutMs: 300_000,
    httpMaxPendingPerAddress: 128,
    dockerPrefix: 'nbg-',
    dockerLabels: {},
    dockerNetworkPool: '10.213.0.0/16',
    dockerBlockCloudMetadata: true,
    volumesDir: '',
    storageUnitMiB: 1024,
    pidsLimit: 4096,
    sshHost: '',
    sshPort: 2222,
    sshPublicAddress: '',
    objectStore: 'fs',
    objectStoreDir: '',
    s3Endpoint: '',
    s3InstanceEndpoint: '',
    s3Region: 'us-east-1',
    s3ForcePathStyle: false,
    s3AccessKeyId: '',
    s3SecretAccessKey: '',
    s3InstanceCredentials: 'sts',
    s3StsRoleArn: '',
    s3StsEndpoint: '',
    s3CredentialTtlSeconds: 3600,
    storageBucket: 'nbg-users',
    storageUserPrefix: 'users/{user}/',
    syncMaxFiles: 1024,
    syncMaxWorkMB: 500
  };
}

/**
 * Loads configuration.
 * @param installRoot - where relative defaults are anchored.
 * @throws Error naming the bad setting and what is allowed.
 */
export function loadConfig(
  installRoot: string,
  argv: readonly string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<Config> = {}
): Config {
  const out: Record<string, unknown> = { ...defaults(installRoot) };
  const flags = parseFlags(argv);
  const file = flags.get('--config') ?? env.NBG_CONFIG;
  if (file) {
    const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    for (const [k, v] of Object.entries(json)) {
      if (k === 'flavors') {
        out.flavors = parseFlavors(v);
        continue;
      }
      const field = FIELDS.find(f => f.key === k);
      if (!field) throw new Error(`unknown setting "${k}" in ${file}; known: ${FIELDS.map(f => f.key).join(', ')}, flavors`);
      out[k] = field.parse(String(v));
    }
  }
  for (const f of FIELDS) {
    const raw = env[f.env];
    if (raw !== undefined && raw !== '') out[f.key] = f.parse(raw);
  }
  for (const [flag, value] of flags) {
    if (flag === '--config') continue;
    const field = FIELDS.find(f => f.flag === flag);
    if (!field) throw new Error(`unknown flag ${flag}; run with --help for the list`);
    out[field.key] = field.parse(value);
  }
  Object.assign(out, overrides);
  for (const k of ['dataDir', 'catalogueFile', 'kernelGatewayDir', 'webDir'] as const) {
    const v = out[k] as string;
    if (!isAbsolute(v)) out[k] = resolve(v);
  }
  if (!out.databaseUrl) out.databaseUrl = `sqlite:${join(out.dataDir as string, 'state.db')}`;
  return Object.freeze(out) as unknown as Config;
}

export function helpText(): string {
  const rows = FIELDS.map(f => `  ${(f.flag ?? '(env/file only)').padEnd(26)} ${f.env.padEnd(28)} ${f.help}`);
  return [
    'nbgateway: notebook platform gateway',
    '',
    'Settings (flag, environment variable, meaning); a JSON file given with --config may set any of them and "flavors":',
    ...rows
  ].join('\n');
}
