/**
 * The audit trail (SPEC §9), for admins: who did what, from where, with what result.
 */
import { h, mount } from '../dom';
import type { AppContext, PageView } from '../context';
import { ResponseError } from '../api/restapi';
import type { AuditRecord } from '../../../../server/src/audit/audit';
import { errorText, notice, unavailable } from '../components/ui';
import { dateTime } from '../logic/format';

const PAGE = 50;
const resource = (r: AuditRecord['resource']): string => `${r.type} ${r.name ?? r.id}`;

export async function auditPage(ctx: AppContext, _p: Record<string, string>, query: URLSearchParams): Promise<PageView> {
  const offset = Math.max(0, Number(query.get('offset') ?? 0) || 0);
  const action = query.get('action') ?? '';
  const body = h('div', { class: 'table-wrap' });
  const filter = h('input', { name: 'action', value: action, placeholder: 'e.g. createNotebook,deleteNotebook' });
  const form = h('form', { class: 'inline-form', role: 'search' }, h('label', { for: 'audit-action' }, 'Actions '), filter, h('button', { class: 'btn btn-small' }, 'Filter'));
  filter.id = 'audit-action';
  form.addEventListener('submit', ev => {
    ev.preventDefault();
    ctx.navigate(`#/audit?action=${encodeURIComponent(filter.value.trim())}`);
  });
  try {
    const page = await ctx.api.audit({ limit: PAGE, offset, action: action || undefined });
    const nav = h('nav', { class: 'pager', 'aria-label': 'Pages' },
      offset > 0 ? h('a', { class: 'btn btn-small', href: `#/audit?action=${encodeURIComponent(action)}&offset=${Math.max(0, offset - PAGE)}` }, 'Newer') : null,
      h('span', null, ` ${page.total === 0 ? 0 : offset + 1}–${offset + page.items.length} of ${page.total} `),
      offset + PAGE < page.total ? h('a', { class: 'btn btn-small', href: `#/audit?action=${encodeURIComponent(action)}&offset=${offset + PAGE}` }, 'Older') : null);
    mount(body, h('table', { class: 'table' },
      h('thead', null, h('tr', null, ...['Time', 'Action', 'Actor', 'Source IP', 'Resource', 'Result'].map(t => h('th', { scope: 'col' }, t)))),
      h('tbody', null, page.items.map(r => h('tr', null,
        h('td', null, dateTime(r.time)), h('td', null, h('code', null, r.action)), h('td', null, r.actor.name),
        h('td', null, r.sourceIp ?? '—'), h('td', null, resource(r.resource)), h('td', null, h('span', { class: `badge tone-${r.result === 'success' ? 'ok' : 'bad'}` }, r.result)))))), nav);
  } catch (err) {
    mount(body, err instanceof ResponseError && err.isMissingRoute ? unavailable('The audit log') : notice('error', errorText(err)));
  }
  return { el: h('main', { id: 'main', class: 'page' }, h('div', { class: 'page-head' }, h('h1', null, 'Audit log'), form), body), title: 'Audit log' };
}
