/**
 * Training jobs (SPEC §8): the list with each job's latest version and state, and one job's
 * versions with live logs (tailed while the version runs).
 */
import { h, mount } from '../dom';
import { every, type AppContext, type PageView } from '../context';
import { ResponseError } from '../api/restapi';
import type { Job, JobVersion } from '../api/wire';
import { badge, confirmDialog, errorText, notice, toast, unavailable } from '../components/ui';
import { dateTime, isTransitional, relative } from '../logic/format';

const latestOf = (j: Job): JobVersion | null => j.latestVersion ?? j.versions?.at(-1) ?? null;
const live = (s: string | undefined): boolean => s !== undefined && (isTransitional(s) || s === 'RUNNING');

export async function jobsPage(ctx: AppContext): Promise<PageView> {
  const body = h('div', { class: 'table-wrap' });
  let jobs: Job[] = [];
  const load = async (): Promise<void> => {
    try {
      jobs = (await ctx.api.listJobs({ limit: 100 })).items;
      mount(body, jobs.length === 0
        ? notice('info', 'No training jobs yet. Submit one from a notebook in JupyterLab (Submit as training job).')
        : h('table', { class: 'table' },
          h('thead', null, h('tr', null, ...['Name', 'Latest version', 'State', 'Flavor', 'Created'].map(t => h('th', { scope: 'col' }, t)))),
          h('tbody', null, jobs.map(j => {
            const v = latestOf(j);
            const status = v?.status ?? j.status ?? '—';
            return h('tr', { 'data-job': j.name },
              h('th', { scope: 'row' }, h('a', { href: `#/jobs/${encodeURIComponent(j.id)}` }, j.name)),
              h('td', null, v?.version ?? '—'), h('td', null, badge(status)), h('td', null, v?.flavor ?? '—'), h('td', null, relative(j.createdAt)));
          }))));
    } catch (err) {
      mount(body, err instanceof ResponseError && err.isMissingRoute ? unavailable('Training jobs') : notice('error', errorText(err)));
    }
  };
  await load();
  const poll = every(3000, async () => {
    if (jobs.some(j => live(latestOf(j)?.status ?? j.status))) await load();
  });
  return { el: h('main', { id: 'main', class: 'page' }, h('div', { class: 'page-head' }, h('h1', null, 'Training jobs')), body), title: 'Training jobs', dispose: () => poll.dispose() };
}

export async function jobDetailPage(ctx: AppContext, params: Record<string, string>, query: URLSearchParams): Promise<PageView> {
  const id = params.id!;
  let job = await ctx.api.getJob(id);
  let versions: JobVersion[] = job.versions ?? (await ctx.api.jobVersions(id).then(r => r.items).catch(() => []));
  let selected = query.get('version') ?? versions.at(-1)?.version ?? '';
  const table = h('section', { class: 'card', 'aria-labelledby': 'versions-title' });
  const logPre = h('pre', { class: 'code log', tabindex: 0, 'aria-label': 'Log output', 'aria-live': 'off' });
  const logHead = h('h2', { id: 'log-title' }, 'Logs');
  const logs = h('section', { class: 'card', 'aria-labelledby': 'log-title' }, logHead, logPre);
  let logOffset = 0;
  let logComplete = false;

  const renderVersions = (): void => {
    mount(table, h('h2', { id: 'versions-title' }, 'Versions'),
      h('table', { class: 'table' },
        h('thead', null, h('tr', null, ...['Version', 'State', 'Image', 'Flavor', 'Nodes', 'Started', 'Finished', ''].map(t => h('th', { scope: 'col' }, t)))),
        h('tbody', null, versions.map(v => {
          const actions = h('div', { class: 'row-actions' });
          const view = h('a', { class: 'btn btn-small', href: `#/jobs/${encodeURIComponent(id)}?version=${encodeURIComponent(v.version)}`, 'aria-current': v.version === selected ? 'true' : false }, 'Logs');
          actions.append(view);
          if (v.status === 'DEPLOYING' || v.status === 'RUNNING') {
            const stop = h('button', { type: 'button', class: 'btn btn-small' }, 'Stop');
            stop.addEventListener('click', async () => {
              try {
                await ctx.api.stopJobVersion(id, v.version);
                toast(`Stopping ${v.version}`);
              } catch (err) {
                toast(errorText(err), 'error');
              }
            });
            actions.append(stop);
          }
          return h('tr', { 'data-version': v.version },
            h('th', { scope: 'row' }, v.version), h('td', null, badge(v.status), v.statusReason ? h('div', { class: 'muted small' }, v.statusReason) : null),
            h('td', null, v.image ?? '—'), h('td', null, v.flavor ?? '—'), h('td', null, String(v.nodeCount ?? 1)),
            h('td', null, dateTime(v.startedAt)), h('td', null, dateTime(v.finishedAt)), h('td', null, actions));
        }))));
  };

  const tail = async (): Promise<void> => {
    if (!selected || logComplete) return;
    try {
      const chunk = await ctx.api.jobLog(id, selected, logOffset);
      if (chunk.text) {
        const atBottom = logPre.scrollTop + logPre.clientHeight >= logPre.scrollHeight - 4;
        logPre.append(chunk.text);
        if (atBottom) logPre.scrollTop = logPre.scrollHeight;
      }
      logOffset = chunk.next;
      const v = versions.find(x => x.version === selected);
      logComplete = chunk.complete || (v !== undefined && !live(v.status));
    } catch (err) {
      logPre.textContent = errorText(err);
      logComplete = true;
    }
  };

  const del = h('button', { type: 'button', class: 'btn btn-danger' }, 'Delete job');
  del.addEventListener('click', async () => {
    if (!(await confirmDialog(`Delete ${job.name}?`, 'Its versions and their logs are removed; outputs in object storage stay.', 'Delete'))) return;
    try {
      await ctx.api.deleteJob(id);
      ctx.navigate('#/jobs');
    } catch (err) {
      toast(errorText(err), 'error');
    }
  });

  logHead.textContent = selected ? `Logs of ${selected}` : 'Logs';
  renderVersions();
  await tail();
  const poll = every(2000, async () => {
    const before = versions.map(v => v.status).join();
    if (versions.some(v => live(v.status))) {
      job = await ctx.api.getJob(id);
      versions = job.versions ?? (await ctx.api.jobVersions(id)).items;
      if (versions.map(v => v.status).join() !== before) renderVersions();
    }
    await tail();
  });
  const el = h('main', { id: 'main', class: 'page' },
    h('p', null, h('a', { href: '#/jobs' }, '← Training jobs')),
    h('div', { class: 'page-head' }, h('h1', null, job.name), del),
    job.description ? h('p', null, job.description) : null,
    table, logs);
  return { el, title: job.name, dispose: () => poll.dispose() };
}
