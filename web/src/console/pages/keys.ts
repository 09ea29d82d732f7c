/**
 * SSH key pairs: the public keys that may open the user's instances over SSH.
 */
import { h, mount } from '../dom';
import type { AppContext, PageView } from '../context';
import { ResponseError } from '../api/restapi';
import { confirmDialog, errorText, field, notice, toast, unavailable } from '../components/ui';
import { dateTime } from '../logic/format';
import { publicKeyProblem } from '../logic/validate';

export async function keysPage(ctx: AppContext): Promise<PageView> {
  const list = h('section', { class: 'card', 'aria-labelledby': 'keys-title' });
  const name = h('input', { autocomplete: 'off', required: true, maxlength: 64 });
  const key = h('textarea', { rows: 3, required: true, spellcheck: 'false', placeholder: 'ssh-ed25519 AAAA… you@laptop' });
  const nameF = field('key-name', 'Name', name, 'To recognise it, e.g. "laptop".');
  const keyF = field('key-text', 'Public key', key, 'One line of your .pub file (ssh-keygen -t ed25519 creates a pair).');
  const status = h('div', { class: 'form-status' });
  const form = h('form', { class: 'card form', novalidate: true, 'aria-labelledby': 'addkey-title' },
    h('h2', { id: 'addkey-title' }, 'Add a public key'), nameF.el, keyF.el, status,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Add key')));
  key.addEventListener('input', () => keyF.setError(key.value ? publicKeyProblem(key.value) : null));
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    const p = publicKeyProblem(key.value);
    nameF.setError(name.value.trim() ? null : 'A name is required.');
    keyF.setError(p);
    if (p || !name.value.trim()) return;
    try {
      await ctx.api.addSshKey(name.value.trim(), key.value.trim());
      toast('Key added');
      name.value = '';
      key.value = '';
      status.replaceChildren();
      await load();
    } catch (err) {
      status.replaceChildren(notice('error', errorText(err)));
    }
  });

  const load = async (): Promise<void> => {
    try {
      const items = (await ctx.api.sshKeys()).items;
      mount(list, h('h2', { id: 'keys-title' }, 'Your keys'),
        items.length === 0 ? h('p', { class: 'muted' }, 'No keys yet.') :
          h('table', { class: 'table' },
            h('thead', null, h('tr', null, ...['Name', 'Fingerprint', 'Added', 'Last used', ''].map(t => h('th', { scope: 'col' }, t)))),
            h('tbody', null, items.map(k => {
              const del = h('button', { type: 'button', class: 'btn btn-small btn-danger', 'aria-label': `Delete key ${k.name}` }, 'Delete');
              del.addEventListener('click', async () => {
                if (!(await confirmDialog(`Delete key ${k.name}?`, 'Clients using it can no longer connect.', 'Delete'))) return;
                try {
                  await ctx.api.deleteSshKey(k.id);
                  await load();
                } catch (err) {
                  toast(errorText(err), 'error');
                }
              });
              return h('tr', null, h('th', { scope: 'row' }, k.name), h('td', null, h('code', null, k.fingerprint)), h('td', null, dateTime(k.createdAt)), h('td', null, dateTime(k.lastUsedAt ?? null)), h('td', null, del));
            }))));
    } catch (err) {
      if (err instanceof ResponseError && err.isMissingRoute) {
        mount(list, h('h2', { id: 'keys-title' }, 'Your keys'), unavailable('SSH key management'));
        form.hidden = true;
      } else mount(list, notice('error', errorText(err)));
    }
  };
  await load();
  return { el: h('main', { id: 'main', class: 'page' }, h('div', { class: 'page-head' }, h('h1', null, 'Key pairs')), list, form), title: 'Key pairs' };
}
