/**
 * Object-storage commands (issue 7): `nbg storage` (your root, and browsing it) and
 * `nbg sync` (Sync OBS, push and pull on a running instance, with progress).
 */
import { UsageError } from '../args';
import type { ApiClient } from '../client';
import { shortTime, table } from '../output';
import type { Command, CommandContext } from './context';
import { resolveInstance } from './notebooks';

interface SyncJob {
  id: string;
  kind: string;
  state: string;
  prefix: string;
  path: string;
  createdAt: string;
  plan: Record<string, number>;
  progress: { phase: string; filesTotal: number; filesDone: number; filesFailed: number; bytesTotal: number; bytesDone: number; deletesDone: number; resumedParts?: number };
  failures: { path: string; error: string }[];
  error: string | null;
}

const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MB`;

function summary(j: SyncJob): string {
  if (j.state === 'planned') {
    return `${j.kind}: would copy ${j.plan.transfers} file(s) (${mb(j.plan.transferBytes ?? 0)}), ${j.plan.unchanged} unchanged, delete ${j.plan.deletes}`;
  }
  const p = j.progress;
  const parts = [`${j.kind} ${j.id}: ${j.state}`, `${p.filesDone - p.filesFailed}/${p.filesTotal} copied (${mb(p.bytesDone)})`, `${j.plan.unchanged ?? 0} unchanged`];
  if (p.deletesDone) parts.push(`${p.deletesDone} deleted`);
  if (p.filesFailed) parts.push(`${p.filesFailed} failed`);
  if (p.resumedParts) parts.push(`${p.resumedParts} part(s) resumed`);
  return [parts.join(', '), ...j.failures.map(f => `  failed: ${f.path}: ${f.error}`), ...(j.error ? [`  ${j.error}`] : [])].join('\n');
}

/** Follows a sync with a progress bar until it ends. */
async function follow(ctx: CommandContext, api: ApiClient, id: string, job: SyncJob): Promise<SyncJob> {
  const bar = ctx.out.progress();
  try {
    while (job.state === 'running') {
      const p = job.progress;
      const percent = p.bytesTotal > 0 ? (100 * p.bytesDone) / p.bytesTotal : p.filesTotal > 0 ? (100 * p.filesDone) / p.filesTotal : null;
      bar.update(percent, job.kind.toUpperCase(), `${p.filesDone}/${p.filesTotal} files, ${mb(p.bytesDone)} of ${mb(p.bytesTotal)}`);
      await new Promise(r => setTimeout(r, 500));
      job = await api.get<SyncJob>(`/api/v1/notebooks/${id}/sync/${job.id}`);
    }
  } finally {
    bar.done();
  }
  return job;
}

/**
 * `nbg sync NAME push [PATH] [--to PREFIX]`, `pull [PATH] [--from PREFIX]`,
 * `obs SOURCE... [--into PATH]`, `status [ID]`, `cancel ID`.
 */
export const sync: Command = async ctx => {
  const to = ctx.flags.string('to');
  const from = ctx.flags.string('from');
  const into = ctx.flags.string('into');
  const del = ctx.flags.bool('delete');
  const maxDelete = ctx.flags.number('max-delete');
  const dryRun = ctx.flags.bool('dry-run');
  const noWait = ctx.flags.bool('no-wait');
  const concurrency = ctx.flags.number('concurrency');
  ctx.flags.done(Infinity);
  const [ref, action, ...args] = ctx.flags.positionals;
  if (!ref || !action) throw new UsageError('nbg sync <instance> push|pull|obs|status|cancel …; run "nbg help"');
  const api = await ctx.client();
  const inst = await resolveInstance(api, ref);

  if (action === 'status') {
    if (args[0]) {
      const j = await api.get<SyncJob>(`/api/v1/notebooks/${inst.id}/sync/${encodeURIComponent(args[0])}`);
      ctx.out.result(j, () => summary(j));
      return;
    }
    const { items } = await api.get<{ items: SyncJob[] }>(`/api/v1/notebooks/${inst.id}/sync`);
    ctx.out.result(items, () => table(['ID', 'KIND', 'STATE', 'FILES', 'PREFIX', 'STARTED'], items.map(j => [
      j.id, j.kind, j.state, `${j.progress.filesDone}/${j.progress.filesTotal}`, j.prefix, shortTime(j.createdAt)
    ])));
    return;
  }
  if (action === 'cancel') {
    if (!args[0]) throw new UsageError('nbg sync <instance> cancel <sync id> (see nbg sync <instance> status)');
    const j = await api.request<SyncJob>('DELETE', `/api/v1/notebooks/${inst.id}/sync/${encodeURIComponent(args[0])}`);
    ctx.out.result(j, () => summary(j));
    return;
  }
  const body: Record<string, unknown> = { kind: action };
  if (action === 'obs') {
    if (args.length === 0) throw new UsageError('nbg sync <instance> obs <object or folder/>… [--into PATH]');
    body.sources = args;
    if (into !== undefined) body.path = into;
    if (to !== undefined || from !== undefined || del) throw new UsageError('Sync OBS takes sources and --into only; it never deletes');
  } else if (action === 'push' || action === 'pull') {
    if (args.length > 1) throw new UsageError(`nbg sync <instance> ${action} [PATH] takes one ~/work path`);
    if (args[0] !== undefined) body.path = args[0];
    const prefix = action === 'push' ? to : from;
    if ((action === 'push' ? from : to) !== undefined) throw new UsageError(`${action} takes --${action === 'push' ? 'to' : 'from'} PREFIX`);
    if (prefix !== undefined) body.prefix = prefix;
    if (del) body.delete = true;
    if (maxDelete !== undefined) body.maxDelete = maxDelete;
  } else {
    throw new UsageError(`unknown sync action "${action}": push, pull, obs, status or cancel`);
  }
  if (dryRun) body.dryRun = true;
  if (concurrency !== undefined) body.concurrency = concurrency;
  let job = await api.request<SyncJob>('POST', `/api/v1/notebooks/${inst.id}/sync`, { json: body });
  if (job.state === 'running' && !noWait) job = await follow(ctx, api, inst.id, job);
  const final = job;
  // A sync that did not finish is an error (exit 1), with what happened as the message.
  if (final.state === 'failed' || final.state === 'canceled') throw new Error(summary(final));
  ctx.out.result(final, () => summary(final));
};

/** `nbg storage` (your root) and `nbg storage ls [PREFIX] [--recursive]`. */
export const storage: Command = async ctx => {
  const recursive = ctx.flags.bool('recursive');
  ctx.flags.done(2);
  const [sub, prefix] = ctx.flags.positionals;
  const api = await ctx.client();
  if (sub === undefined) {
    const s = await api.get<{ url: string; store: string; instanceCredentials: string; syncLimits: { maxFiles: number; maxWorkMB: number } }>('/api/v1/storage');
    ctx.out.result(s, () => `your storage root: ${s.url} (${s.store}; instance keys: ${s.instanceCredentials})\nSync OBS limits: ${s.syncLimits.maxFiles} files, ~/work ≤ ${s.syncLimits.maxWorkMB} MB`);
    return;
  }
  if (sub !== 'ls') throw new UsageError('nbg storage [ls [PREFIX] [--recursive]]');
  const rows: string[][] = [];
  const all: unknown[] = [];
  let token: string | null = null;
  do {
    const q = new URLSearchParams({ prefix: prefix ?? '', delimiter: recursive ? '' : '/', ...(token ? { continuationToken: token } : {}) });
    const page: { objects: { path: string; size: number; lastModified: string }[]; prefixes: string[]; continuationToken: string | null } = await api.get(`/api/v1/storage/objects?${q.toString()}`);
    all.push(...page.prefixes.map(p => ({ path: p, type: 'folder' })), ...page.objects);
    rows.push(...page.prefixes.map(p => ['DIR', '', p]), ...page.objects.map(o => [String(o.size), shortTime(o.lastModified), o.path]));
    token = page.continuationToken;
  } while (token);
  ctx.out.result(all, () => table(['SIZE', 'MODIFIED', 'PATH'], rows));
};
