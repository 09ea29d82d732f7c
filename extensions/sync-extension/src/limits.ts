/**
 * The Sync OBS limits (SPEC §4) and how a sync plan is told to the user (no UI imports).
 */

/** SPEC §4: at most this many files per Sync OBS… */
export const MAX_FILES = 1024;
/** …and ~/work at most this large after it (MB here is 1024 × 1024 bytes, as the agent counts). */
export const MAX_WORK_BYTES = 500 * 1024 * 1024;

/** What the gateway's dry run (`dryRun: true`) reports; every field may be missing. */
export interface ISyncPlan {
  files?: number;
  transfers?: number;
  transferBytes?: number;
  unchanged?: number;
  deletes?: number;
  workBytes?: number;
  afterBytes?: number;
}

/** A sync as the gateway describes it (`SyncJob`). */
export interface ISyncJob {
  id: string;
  kind: 'obs' | 'push' | 'pull';
  state: 'planned' | 'running' | 'succeeded' | 'failed' | 'canceled';
  plan?: ISyncPlan;
  progress?: { phase?: string; filesTotal?: number; filesDone?: number; filesFailed?: number; bytesTotal?: number; bytesDone?: number };
  failures?: { path: string; error: string }[];
  error?: string | null;
}

export const mb = (n: number): string => `${(n / (1024 * 1024)).toFixed(n < 10 * 1024 * 1024 ? 1 : 0)} MB`;

/** The confirmation text of a Sync OBS: what is selected, what the plan copies, the limits. */
export function planText(count: number, plan: ISyncPlan | null): string {
  const what = `${count} selected item${count === 1 ? '' : 's'}`;
  const limits = `Limits: at most ${MAX_FILES} files per sync; ~/work at most ${mb(MAX_WORK_BYTES)} afterwards. Nothing is copied when a limit would be passed.`;
  if (!plan) return `Copy ${what} from object storage into ~/work. ${limits}`;
  const copy = `${plan.transfers ?? plan.files ?? 0} file${(plan.transfers ?? plan.files) === 1 ? '' : 's'} (${mb(plan.transferBytes ?? 0)})`;
  const skipped = plan.unchanged ? `, ${plan.unchanged} unchanged skipped` : '';
  const room = plan.workBytes !== undefined && plan.afterBytes !== undefined ? ` ~/work: ${mb(plan.workBytes)} now, ${mb(plan.afterBytes)} after.` : '';
  return `Copy ${copy} of ${what} into ~/work${skipped}.${room} ${limits}`;
}

/** One line of progress for the notification. */
export function progressText(job: ISyncJob): string {
  const p = job.progress ?? {};
  if (job.state === 'succeeded') return `Synced ${p.filesDone ?? 0} file${p.filesDone === 1 ? '' : 's'} (${mb(p.bytesDone ?? 0)})`;
  if (job.state === 'failed') return `Sync failed: ${job.error ?? job.failures?.map(f => `${f.path}: ${f.error}`).join('; ') ?? 'unknown error'}`;
  if (job.state === 'canceled') return 'Sync canceled';
  return `Syncing… ${p.filesDone ?? 0}/${p.filesTotal ?? '?'} files, ${mb(p.bytesDone ?? 0)} of ${mb(p.bytesTotal ?? 0)}`;
}
