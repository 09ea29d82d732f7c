/**
 * Notebook commands: list, create, start, stop, delete, open, logs, lease.
 */
import { UsageError } from '../args';
import { ApiError, type ApiClient } from '../client';
import { shortTime, table } from '../output';
import type { Command, CommandContext } from './context';
import type { LeaseInfo, NotebookInstance, Page } from '../../api/types';

/** Instance ids: 12 of [a-z0-9], starting with a letter. */
const ID = /^[a-z][a-z0-9]{11}$/;

/** Finds an instance by id or by name among the user's own. */
export async function resolveInstance(api: ApiClient, ref: string): Promise<NotebookInstance> {
  if (ID.test(ref)) {
    try {
      return await api.get<NotebookInstance>(`/api/v1/notebooks/${ref}`);
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 404) throw err;
    }
  }
  for (let offset = 0; ; offset += 200) {
    const page = await api.get<Page<NotebookInstance>>(`/api/v1/notebooks?limit=200&offset=${offset}`);
    const hit = page.items.find(i => i.name === ref);
    if (hit) return hit;
    if (offset + page.items.length >= page.total) break;
  }
  throw new ApiError(404, 'NB_ERR_INSTANCE_NOT_FOUND', `no notebook instance named or with id "${ref}"`);
}

function target(ctx: CommandContext, what: string): string {
  const ref = ctx.flags.positionals[0];
  if (!ref) throw new UsageError(`which instance? nbg ${what} <name or id>`);
  return ref;
}

function describe(i: NotebookInstance): string {
  const lines = [
    `${i.name} (${i.id})  ${i.status}${i.statusReason ? `: ${i.statusReason}` : ''}`,
    `  image ${i.image}, flavor ${i.flavor}, storage ${i.storage.type} ${i.storage.sizeGB} GB, owner ${i.owner.name}`
  ];
  const a = i.autoStop;
  if (a && (a.timingHours !== null || a.idleMinutes !== null)) {
    const parts = [];
    if (a.timingHours !== null) parts.push(`TIMING ${a.timingHours} h${a.expiresAt ? ` (stops ${shortTime(a.expiresAt)})` : ''}`);
    if (a.idleMinutes !== null) parts.push(`IDLE ${a.idleMinutes} min`);
    lines.push(`  auto-stop: ${parts.join(', ')}`);
  }
  return lines.join('\n');
}

/**
 * Follows an instance until it reaches one of `want` (or ERROR), drawing progress.
 * @returns the final record.
 */
async function follow(ctx: CommandContext, api: ApiClient, id: string, want: readonly string[], timeoutMs: number): Promise<NotebookInstance> {
  const bar = ctx.out.progress();
  let percent = 0;
  let message = 'waiting';
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    await api.events(`/api/v1/notebooks/${id}/events`, e => {
      if (e.event === 'progress') {
        percent = Number(e.data.progress ?? percent);
        message = String(e.data.message ?? message);
        bar.update(percent, 'starting', message);
        return false;
      }
      if (e.event === 'deleted') return true;
      if (e.event === 'status') {
        const status = String(e.data.status);
        if (status === 'RUNNING' || status === 'STOPPED') percent = 100;
        bar.update(percent, status, status === 'ERROR' ? String(e.data.statusReason ?? 'failed') : message);
        return want.includes(status) || status === 'ERROR';
      }
      return false;
    }, abort.signal);
  } catch (err) {
    if (!abort.signal.aborted) throw err;
  } finally {
    clearTimeout(timer);
    bar.done();
  }
  const rec = await api.get<NotebookInstance>(`/api/v1/notebooks/${id}`);
  if (abort.signal.aborted && !want.includes(rec.status)) {
    throw new ApiError(0, 'NB_CLI_TIMEOUT', `gave up waiting after ${Math.round(timeoutMs / 1000)} s; the instance is ${rec.status}`);
  }
  if (rec.status === 'ERROR' && !want.includes('ERROR')) throw new ApiError(0, 'NB_CLI_FAILED', `instance ${rec.name} failed: ${rec.statusReason ?? 'unknown reason'}`);
  return rec;
}

const waitTimeout = (ctx: CommandContext): number => (ctx.flags.number('timeout') ?? 600) * 1000;

export const list: Command = async ctx => {
  const all = ctx.flags.bool('all');
  ctx.flags.done(0);
  const api = await ctx.client();
  const items: NotebookInstance[] = [];
  for (let offset = 0; ; offset += 200) {
    const page = await api.get<Page<NotebookInstance>>(`/api/v1/notebooks?limit=200&offset=${offset}${all ? '&all=true' : ''}`);
    items.push(...page.items);
    if (offset + page.items.length >= page.total) break;
  }
  ctx.out.result(items, () => table(
    ['NAME', 'ID', 'STATUS', 'IMAGE', 'FLAVOR', ...(all ? ['OWNER'] : []), 'CREATED'],
    items.map(i => [i.name, i.id, i.status, i.image, i.flavor, ...(all ? [i.owner.name] : []), shortTime(i.createdAt)])
  ));
};

export const create: Command = async ctx => {
  const f = ctx.flags;
  const image = f.string('image');
  const flavor = f.string('flavor');
  const storage = f.string('storage');
  const size = f.number('size');
  const description = f.string('description');
  const idle = f.number('idle');
  const timing = f.number('timing');
  const noWait = f.bool('no-wait');
  const timeout = waitTimeout(ctx);
  f.done(1);
  const name = f.positionals[0];
  if (!name) throw new UsageError('nbg create <name> --image <image> [--flavor F] [--storage local|obs] [--size GB] [--idle MIN] [--timing H]');
  if (!image) throw new UsageError('--image is required; "nbg images" lists them');
  const body: Record<string, unknown> = { name, image };
  if (flavor) body.flavor = flavor;
  if (description !== undefined) body.description = description;
  if (storage !== undefined || size !== undefined) body.storage = { ...(storage ? { type: storage } : {}), ...(size !== undefined ? { sizeGB: size } : {}) };
  if (idle !== undefined || timing !== undefined) body.autoStop = { idleMinutes: idle ?? null, timingHours: timing ?? null };
  const api = await ctx.client();
  const created = await api.create<NotebookInstance>('/api/v1/notebooks', body);
  const rec = noWait ? created : await follow(ctx, api, created.id, ['RUNNING'], timeout);
  ctx.out.result(rec, () => describe(rec));
};

export const start: Command = async ctx => {
  const noWait = ctx.flags.bool('no-wait');
  const timeout = waitTimeout(ctx);
  ctx.flags.done(1);
  const api = await ctx.client();
  const inst = await resolveInstance(api, target(ctx, 'start'));
  const started = await api.request<NotebookInstance>('POST', `/api/v1/notebooks/${inst.id}/start`);
  const rec = noWait ? started : await follow(ctx, api, inst.id, ['RUNNING'], timeout);
  ctx.out.result(rec, () => describe(rec));
};

export const stop: Command = async ctx => {
  const noWait = ctx.flags.bool('no-wait');
  const timeout = waitTimeout(ctx);
  ctx.flags.done(1);
  const api = await ctx.client();
  const inst = await resolveInstance(api, target(ctx, 'stop'));
  const stopping = await api.request<NotebookInstance>('POST', `/api/v1/notebooks/${inst.id}/stop`);
  const rec = noWait ? stopping : await follow(ctx, api, inst.id, ['STOPPED'], timeout);
  ctx.out.result(rec, () => describe(rec));
};

export const remove: Command = async ctx => {
  const yes = ctx.flags.bool('yes');
  ctx.flags.done(1);
  const api = await ctx.client();
  const inst = await resolveInstance(api, target(ctx, 'delete'));
  if (!yes) throw new UsageError(`deleting "${inst.name}" cannot be undone (its ~/work is kept for the retention period); add --yes to confirm`);
  await api.request('DELETE', `/api/v1/notebooks/${inst.id}`);
  ctx.out.result({ id: inst.id, name: inst.name, deleted: true }, () => `Deleted ${inst.name} (${inst.id})`);
};

export const open: Command = async ctx => {
  ctx.flags.done(1);
  const api = await ctx.client();
  const inst = await resolveInstance(api, target(ctx, 'open'));
  if (inst.status !== 'RUNNING') ctx.out.note(`note: ${inst.name} is ${inst.status}; start it with "nbg start ${inst.name}" before opening`);
  const base = `${api.baseUrl}${inst.url}`;
  const urls = { id: inst.id, name: inst.name, status: inst.status, url: `${base}lab`, apiUrl: base };
  ctx.out.result(urls, () => urls.url);
};

/**
 * `nbg logs NAME [--tail N]`: what the instance's kernel gateway and kernels wrote;
 * `--events [--limit N]`: what happened to it (audit trail, the last start's progress).
 */
export const logs: Command = async ctx => {
  const eventsOnly = ctx.flags.bool('events');
  const limit = ctx.flags.number('limit') ?? 50;
  const tail = ctx.flags.number('tail') ?? 100;
  ctx.flags.done(1);
  const api = await ctx.client();
  const inst = await resolveInstance(api, target(ctx, 'logs'));
  if (!eventsOnly) {
    const output = await api.text(`/api/v1/notebooks/${inst.id}/logs?tail=${tail}`);
    ctx.out.result({ instance: inst, output }, () => output || `(${inst.name} has no output yet)`);
    return;
  }
  const trail = await api.get<Page<{ time: string; action: string; actor: { name: string }; result: string; sourceIp: string | null; details: Record<string, unknown> | null }>>(
    `/api/v1/audit?resourceType=notebook&resourceId=${inst.id}&limit=${Math.min(200, Math.max(1, limit))}`
  );
  const progress = await api.get<{ status: string; events: { progress: number; message: string; step: string }[] }>(`/api/v1/notebooks/${inst.id}/progress`);
  const events = [...trail.items].reverse();
  ctx.out.result({ instance: inst, events, progress: progress.events }, () => [
    describe(inst),
    '',
    table(['TIME (UTC)', 'EVENT', 'BY', 'RESULT', 'DETAILS'], events.map(e => [
      shortTime(e.time), e.action, e.actor.name, e.result, e.details ? JSON.stringify(e.details) : ''
    ])),
    ...(progress.events.length ? ['', 'Last start:', ...progress.events.map(p => `  ${String(p.progress).padStart(3)}%  ${p.message}`)] : [])
  ].join('\n'));
};

/** `nbg lease <instance> [--idle MIN|off] [--timing H|off]`, `nbg renew <instance> [--timing H]`. */
export const lease: Command = async ctx => {
  const idle = ctx.flags.string('idle');
  const timing = ctx.flags.string('timing');
  ctx.flags.done(1);
  const api = await ctx.client();
  const inst = await resolveInstance(api, target(ctx, 'lease'));
  let info: LeaseInfo;
  if (idle === undefined && timing === undefined) {
    info = await api.get<LeaseInfo>(`/api/v1/notebooks/${inst.id}/lease`);
  } else {
    const current = await api.get<LeaseInfo>(`/api/v1/notebooks/${inst.id}/lease`);
    const num = (v: string | undefined, keep: number | null): number | null => (v === undefined ? keep : v === 'off' ? null : Number(v));
    info = await api.request<LeaseInfo>('PUT', `/api/v1/notebooks/${inst.id}/lease`, {
      json: { idleMinutes: num(idle, current.idleMinutes), timingHours: num(timing, current.timingHours) }
    });
  }
  ctx.out.result(info, () => leaseText(info));
};

export const renew: Command = async ctx => {
  const timing = ctx.flags.number('timing');
  ctx.flags.done(1);
  const api = await ctx.client();
  const inst = await resolveInstance(api, target(ctx, 'renew'));
  const info = await api.request<LeaseInfo>('POST', `/api/v1/notebooks/${inst.id}/lease/renew`, timing !== undefined ? { json: { timingHours: timing } } : {});
  ctx.out.result(info, () => leaseText(info));
};

function leaseText(l: LeaseInfo): string {
  return [
    `TIMING: ${l.timingHours === null ? 'off' : `${l.timingHours} h${l.expiresAt ? `, stops at ${l.expiresAt}` : ''}`}`,
    `IDLE:   ${l.idleMinutes === null ? 'off' : `${l.idleMinutes} min${l.idleStopAt ? `, stops at ${l.idleStopAt} without activity` : ''}`}`,
    `last activity: ${l.lastActivityAt ?? '-'}`
  ].join('\n');
}
