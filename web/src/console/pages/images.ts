/**
 * Images: the preset catalogue and the user's custom images (saved from instances), with
 * delete for custom ones.
 */
import { h, mount } from '../dom';
import type { AppContext, PageView } from '../context';
import { ResponseError } from '../api/restapi';
import { confirmDialog, errorText, notice, toast, unavailable } from '../components/ui';
import { bytes, dateTime } from '../logic/format';

export async function imagesPage(ctx: AppContext): Promise<PageView> {
  const presets = (await ctx.api.images()).items.filter(i => !i.custom);
  const custom = h('section', { class: 'card', 'aria-labelledby': 'custom-title' });
  const el = h('main', { id: 'main', class: 'page' },
    h('div', { class: 'page-head' }, h('h1', null, 'Images')),
    h('section', { class: 'card', 'aria-labelledby': 'preset-title' },
      h('h2', { id: 'preset-title' }, 'Preset images'),
      h('table', { class: 'table' },
        h('thead', null, h('tr', null, ...['Name', 'Engine', 'Chips', 'SSH', 'Description'].map(t => h('th', { scope: 'col' }, t)))),
        h('tbody', null, presets.map(i => h('tr', null,
          h('th', { scope: 'row' }, i.name), h('td', null, `${i.engine} ${i.engineVersion}`), h('td', null, i.chips.join(', ')),
          h('td', null, i.ssh ? 'yes' : 'no'), h('td', null, i.description)))))),
    custom);

  const load = async (): Promise<void> => {
    try {
      const items = (await ctx.api.customImages({ all: ctx.me.role === 'admin' })).items;
      mount(custom, h('h2', { id: 'custom-title' }, 'Custom images'),
        items.length === 0
          ? h('p', { class: 'muted' }, 'None yet: use "Save as image" on a running instance (console or JupyterLab).')
          : h('table', { class: 'table' },
            h('thead', null, h('tr', null, ...['Name', 'Base', 'Size', 'Owner', 'Created', ''].map(t => h('th', { scope: 'col' }, t)))),
            h('tbody', null, items.map(img => {
              const del = h('button', { type: 'button', class: 'btn btn-small btn-danger', 'aria-label': `Delete ${img.name}` }, 'Delete');
              del.addEventListener('click', async () => {
                if (!(await confirmDialog(`Delete ${img.name}?`, 'Instances already running from it keep running; new ones cannot use it.', 'Delete'))) return;
                try {
                  await ctx.api.deleteCustomImage(img.id);
                  toast(`${img.name} deleted`);
                  await load();
                } catch (err) {
                  toast(errorText(err), 'error');
                }
              });
              return h('tr', null, h('th', { scope: 'row' }, img.name, img.push && img.push.status !== 'pushed' ? h('span', { class: 'muted' }, ` (registry push ${img.push.status}${img.push.error ? `: ${img.push.error}` : ''})`) : null),
                h('td', null, img.baseImage), h('td', null, bytes(img.sizeBytes)), h('td', null, img.owner.name), h('td', null, dateTime(img.createdAt)), h('td', null, del));
            }))));
    } catch (err) {
      mount(custom, h('h2', { id: 'custom-title' }, 'Custom images'), err instanceof ResponseError && err.isMissingRoute ? unavailable('Custom images') : notice('error', errorText(err)));
    }
  };
  await load();
  return { el, title: 'Images' };
}
