/**
 * `nbg images`, `nbg flavors`, `nbg jobs`.
 */
import { UsageError } from '../args';
import { ApiError } from '../client';
import { shortTime, table } from '../output';
import type { Command } from './context';
import type { FlavorInfo, ImageInfo, Page } from '../../api/types';

export const images: Command = async ({ flags, out, client }) => {
  flags.done(0);
  const { items } = await (await client()).get<{ items: ImageInfo[] }>('/api/v1/images');
  out.result(items, () => table(['NAME', 'ENGINE', 'CHIPS', 'SSH', 'CUSTOM', 'DESCRIPTION'], items.map(i => [
    i.name, `${i.engine} ${i.engineVersion}`, i.chips.join(','), i.ssh ? 'yes' : 'no', i.custom ? 'yes' : 'no', i.description
  ])));
};

export const flavors: Command = async ({ flags, out, client }) => {
  flags.done(0);
  const { items } = await (await client()).get<{ items: FlavorInfo[] }>('/api/v1/flavors');
  out.result(items, () => table(['ID', 'CHIP', 'CPUS', 'MEMORY', 'ACCEL', 'INVITE-ONLY'], items.map(f => [
    f.id, f.chip, String(f.cpus), `${f.memoryGiB} GiB`, String(f.accelerators), f.inviteOnly ? (f.granted ? 'yes (granted)' : 'yes') : 'no'
  ])));
};

interface JobSummary {
  id: string;
  name: string;
  status?: string | null;
  latestVersion?: string | null;
  createdAt?: string;
}

/** A gateway without the jobs service answers "no route" (NB_ERR_NOT_FOUND) for /jobs. */
function noJobs(err: unknown): boolean {
  return err instanceof ApiError && err.status === 404 && err.code === 'NB_ERR_NOT_FOUND';
}

/** `nbg jobs [--all]`, `nbg jobs logs <job id> [version] [--task N]`: training jobs, when this gateway has them. */
export const jobs: Command = async ({ flags, out, client }) => {
  const all = flags.bool('all');
  const task = flags.number('task');
  flags.done(3);
  const [sub, jobId, version] = flags.positionals;
  const api = await client();
  try {
    if (sub === 'logs') {
      if (!jobId) throw new UsageError('nbg jobs logs <job id> [version] [--task N]');
      const v = version ?? (await api.get<JobSummary>(`/api/v1/jobs/${jobId}`)).latestVersion ?? 'V0001';
      const text = await api.text(`/api/v1/jobs/${jobId}/versions/${v}/logs${task !== undefined ? `?task=${task}` : ''}`);
      out.result({ job: jobId, version: v, task: task ?? 0, log: text }, () => text.replace(/\n$/, ''));
      return;
    }
    if (sub !== undefined && sub !== 'list') throw new UsageError(`unknown jobs command "${sub}"; use "nbg jobs" or "nbg jobs logs <job>"`);
    const page = await api.get<Page<JobSummary>>(`/api/v1/jobs?limit=200${all ? '&all=true' : ''}`);
    out.result(page.items, () => table(['NAME', 'ID', 'STATUS', 'VERSION', 'CREATED'], page.items.map(j => [
      j.name, j.id, j.status ?? '-', j.latestVersion ?? '-', shortTime(j.createdAt)
    ])));
  } catch (err) {
    if (!noJobs(err)) throw err;
    out.note('training jobs are not available on this gateway');
    out.result([], () => '(none)');
  }
};
