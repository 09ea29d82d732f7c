/**
 * The user's instances: state, image, flavor, storage, lease countdown, and the allowed
 * operations. Refreshes by itself (quickly while something is changing state), and the lease
 * countdowns tick every second.
 */
import type { NotebookInstance } from '../../../../server/src/api/types';
import { h, mount } from '../dom';
import { every, type AppContext, type PageView } from '../context';
import { badge, errorText, notice } from '../components/ui';
import { instanceActions } from '../components/instance-actions';
import { countdown, isTransitional, relative } from '../logic/format';
import { leaseOf } from '../logic/instance-view';

export async function instancesPage(ctx: AppContext, _p: Record<string, string>, query: URLSearchParams): Promise<PageView> {
  const all = ctx.me.role === 'admin' && query.get('all') === 'true';
  const body = h('div', { class: 'table-wrap' });
  const head = h('div', { class: 'page-head' },
    h('h1', null, all ? 'All instances' : 'Notebook instances'),
    h('div', { class: 'actions' },
      ctx.me.role === 'admin' ? h('a', { class: 'btn', href: all ? '#/notebooks' : '#/notebooks?all=true' }, all ? 'Only mine' : 'Everyone\u2019s') : null,
      h('a', { class: 'btn btn-primary', href: '#/notebooks/new' }, 'Create instance')));
  const el = h('main', { id: 'main', class: 'page' }, head, body);
  let items: NotebookInstance[] = [];
  let lastLoad = 0;

  const leaseCell = (inst: NotebookInstance): HTMLElement => {
    const lease = leaseOf(inst);
    const cell = h('span', { class: 'lease' });
    if (!lease) cell.textContent = '—';
    else if (lease.expiresAt !== null) {
      cell.dataset.expiresAt = String(lease.expiresAt);
      cell.textContent = inst.status === 'RUNNING' ? countdown(lease.expiresAt - Date.now()) : 'paused';
      cell.title = `Stops at ${new Date(lease.expiresAt).toLocaleString()}`;
    } else cell.textContent = `idle ${lease.idleMinutes} min`;
    return cell;
  };

  const render = (): void => {
    if (items.length === 0) {
      mount(body, notice('info', 'No instances yet. ', h('a', { href: '#/notebooks/new' }, 'Create your first instance'), '.'));
      return;
    }
    const rows = items.map(inst =>
      h('tr', { 'data-instance': inst.name, 'data-id': inst.id },
        h('th', { scope: 'row' }, h('a', { href: `#/notebooks/${encodeURIComponent(inst.id)}` }, inst.name), all ? h('div', { class: 'muted' }, inst.owner.name) : null),
        h('td', null, badge(inst.status), inst.statusReason ? h('div', { class: 'muted small' }, inst.statusReason) : null),
        h('td', null, inst.image),
        h('td', null, inst.flavor),
        h('td', null, inst.storage.type === 'local' ? `local ${inst.storage.sizeGB} GB` : 'OBS'),
        h('td', null, leaseCell(inst)),
        h('td', null, h('span', { title: inst.createdAt }, relative(inst.createdAt))),
        h('td', null, instanceActions(ctx, inst, () => void load()))));
    mount(body, h('table', { class: 'table', 'aria-describedby': 'inst-caption' },
      h('caption', { id: 'inst-caption', class: 'sr-only' }, 'Notebook instances with their state and allowed operations'),
      h('thead', null, h('tr', null, ...['Name', 'State', 'Image', 'Flavor', 'Storage', 'Auto-stop', 'Created', 'Actions'].map(t => h('th', { scope: 'col' }, t)))),
      h('tbody', null, rows)));
  };

  const load = async (): Promise<void> => {
    try {
      items = (await ctx.api.listInstances({ limit: 100, all })).items;
      lastLoad = Date.now();
      render();
    } catch (err) {
      mount(body, notice('error', errorText(err)));
    }
  };
  await load();
  const poll = every(1000, async () => {
    const busy = items.some(i => isTransitional(i.status));
    if (Date.now() - lastLoad >= (busy ? 2000 : 15000)) await load();
    else
      for (const c of body.querySelectorAll<HTMLElement>('.lease[data-expires-at]')) {
        if (c.textContent !== 'paused') c.textContent = countdown(Number(c.dataset.expiresAt) - Date.now());
      }
  });
  return { el, title: all ? 'All instances' : 'Notebook instances', dispose: () => poll.dispose() };
}
