/**
 * Training jobs (SPEC §8): the list with each job's latest version and state, and one job's
 * versions (stop, run again, delete) with live logs, tailed while the version runs.
 */
import { h, mount } from '../dom';
import { every, type AppContext, type PageView } from '../context';
import { ResponseError } from '../api/restapi';
import type { Job, JobVersion } from '../api/wire';
import { badge, confirmDialog, errorText, notice, toast, unavailable } from '../components/ui';
import { dateTime, relative } from '../logic/format';

const TERMINAL = ['SUCCEEDED', 'FAILED', 'CANCELED'];
const live = (s: string | null | undefined): boolean => !!s && !TERMINAL.includes(s);

export async function jobsPage(ctx: AppContext, _p: Record<string, string>, query: URLSearchParams): Promise<PageView> {
  const all = ctx.me.role === 'admin' && query.get('all') === 'true';
  const body = h('div', { class: 'table-wrap' });
  let jobs: Job[] = [];
  const load = async (): Promise<void> => {
    try {
      jobs = (await ctx.api.listJobs({ limit: 100, all })).items;
      mount(body, jobs.length === 0
        ? notice('info', 'No training jobs yet. Submit one from a notebook in JupyterLab: File › Submit as Training Job…')
        : h('table', { class: 'table' },
          h('caption', { class: 'sr-only' }, 'Training jobs with the state of their latest version'),
          h('thead', null, h('tr', null, ...['Name', 'Latest version', 'State', 'Flavor', 'Duration', 'Created'].map(t => h('th', { scope: 'col' }, t)))),
          h('tbody', null, jobs.map(j => h('tr', { 'data-job': j.name },
            h('th', { scope: 'row' }, h('a', { href: `#/jobs/${encodeURIComponent(j.id)}` }, j.name), all ? h('div', { class: 'muted small' }, j.owner.name) : null),
            h('td', null, j.latestVersion || '—'),
            h('td', null, j.status ? badge(j.status) : '—', j.version?.statusReason ? h('div', { class: 'muted small' }, j.version.statusReason) : null),
            h('td', null, j.version?.flavor ?? '—'),
            h('td', null, j.version?.durationSeconds != null ? `${j.version.durationSeconds} s` : '—'),
            h('td', null, relative(j.createdAt)))))));
    } catch (err) {
      mount(body, err instanceof ResponseError && err.isMissingRoute ? unavailable('Training jobs') : notice('error', errorText(err)));
    }
  };
  await load();
  const poll = every(2000, async () => {
    if (jobs.some(j => live(j.status))) await load();
  });
  return {
    el: h('main', { id: 'main', class: 'page' },
      h('div', { class: 'page-head' }, h('h1', null, 'Training jobs'),
        h('div', { class: 'actions' },
          ctx.me.role === 'admin' ? h('a', { class: 'btn', href: all ? '#/jobs' : '#/jobs?all=true' }, all ? 'Only mine' : 'Everyone\u2019s') : null,
          h('a', { class: 'btn btn-primary', href: '#/jobs/new' }, 'Create training job'))),
      body),
    title: 'Training jobs',
    dispose: () => poll.dispose()
  };
}

export async function jobDetailPage(ctx: AppContext, params: Record<string, string>, query: URLSearchParams): Promise<PageView> {
  const id = params.id!;
  let job = await ctx.api.getJob(id);
  let versions: JobVersion[] = (await ctx.api.jobVersions(id)).items;
  const selected = query.get('version') ?? job.latestVersion ?? versions.at(-1)?.version ?? '';
  const table = h('section', { class: 'card', 'aria-labelledby': 'versions-title' });
  const logPre = h('pre', { class: 'code log', tabindex: 0, 'aria-label': `Log of ${selected}` });
  const logs = h('section', { class: 'card', 'aria-labelledby': 'log-title' }, h('h2', { id: 'log-title' }, selected ? `Log of ${selected}` : 'Log'), logPre);
  let logOffset = 0;
  let logDone = !selected;

  const act = async (fn: () => Promise<unknown>, done: string): Promise<void> => {
    try {
      await fn();
      toast(done);
      versions = (await ctx.api.jobVersions(id)).items;
      renderVersions();
    } catch (err) {
      toast(errorText(err), 'error');
    }
  };

  const renderVersions = (): void => {
    mount(table, h('h2', { id: 'versions-title' }, 'Versions'),
      h('table', { class: 'table' },
        h('thead', null, h('tr', null, ...['Version', 'State', 'Image', 'Flavor', 'Nodes', 'Boot file', 'Started', 'Finished', ''].map(t => h('th', { scope: 'col' }, t)))),
        h('tbody', null, versions.map(v => {
          const actions = h('div', { class: 'row-actions', role: 'group', 'aria-label': `Actions for ${v.version}` },
            h('a', { class: 'btn btn-small', href: `#/jobs/${encodeURIComponent(id)}?version=${encodeURIComponent(v.version)}`, 'aria-current': v.version === selected ? 'true' : false }, 'Log'));
          if (v.allowedOperations.includes('stop')) {
            const stop = h('button', { type: 'button', class: 'btn btn-small' }, 'Stop');
            stop.addEventListener('click', () => void act(() => ctx.api.stopJobVersion(id, v.version), `Stopping ${v.version}`));
            actions.append(stop);
          }
          return h('tr', { 'data-version': v.version },
            h('th', { scope: 'row' }, v.version),
            h('td', null, badge(v.status), v.statusReason ? h('div', { class: 'muted small' }, v.statusReason) : null),
            h('td', null, v.image), h('td', null, v.flavor), h('td', null, String(v.nodeCount)), h('td', null, h('code', null, v.bootFile)),
            h('td', null, dateTime(v.startedAt)), h('td', null, dateTime(v.finishedAt)), h('td', null, actions));
        }))));
  };

  const tail = async (): Promise<void> => {
    if (logDone) return;
    try {
      const chunk = await ctx.api.jobLog(id, selected, logOffset);
      if (chunk.text) {
        const atBottom = logPre.scrollTop + logPre.clientHeight >= logPre.scrollHeight - 4;
        logPre.append(chunk.text);
        if (atBottom) logPre.scrollTop = logPre.scrollHeight;
      }
      const grew = chunk.next > logOffset;
      logOffset = chunk.next;
      // Stop after the version ended and the log was read to its end.
      logDone = !live(chunk.status) && !grew;
    } catch (err) {
      logPre.textContent = errorText(err);
      logDone = true;
    }
  };

  const rerun = h('button', { type: 'button', class: 'btn' }, 'Run again');
  rerun.addEventListener('click', () => void act(() => ctx.api.rerunJob(id), 'New version submitted'));
  const del = h('button', { type: 'button', class: 'btn btn-danger' }, 'Delete job');
  del.addEventListener('click', async () => {
    if (!(await confirmDialog(`Delete ${job.name}?`, 'Running versions are stopped; versions and logs are removed. Outputs in object storage stay.', 'Delete'))) return;
    try {
      await ctx.api.deleteJob(id);
      ctx.navigate('#/jobs');
    } catch (err) {
      toast(errorText(err), 'error');
    }
  });

  renderVersions();
  await tail();
  const poll = every(1500, async () => {
    if (versions.some(v => live(v.status))) {
      const before = versions.map(v => v.status).join();
      [job, versions] = await Promise.all([ctx.api.getJob(id), ctx.api.jobVersions(id).then(r => r.items)]);
      if (versions.map(v => v.status).join() !== before) renderVersions();
    }
    await tail();
  });
  const el = h('main', { id: 'main', class: 'page' },
    h('p', null, h('a', { href: '#/jobs' }, '← Training jobs')),
    h('div', { class: 'page-head' }, h('h1', null, job.name), h('div', { class: 'actions' }, rerun, del)),
    job.description ? h('p', null, job.description) : null,
    table, logs);
  return { el, title: job.name, dispose: () => poll.dispose() };
}
