/**
 * SSH key pairs: the public keys that may open the user's instances over SSH.
 */
import { h, mount } from '../dom';
import type { AppContext, PageView } from '../context';
import { ResponseError } from '../api/restapi';
import { confirmDialog, copyButton, errorText, field, notice, toast, unavailable } from '../components/ui';
import { dateTime } from '../logic/format';
import { publicKeyProblem } from '../logic/validate';

export async function keysPage(ctx: AppContext): Promise<PageView> {
  const list = h('section', { class: 'card', 'aria-labelledby': 'keys-title' });
  const name = h('input', { autocomplete: 'off', required: true, maxlength: 64 });
  const key = h('textarea', { rows: 3, required: true, spellcheck: 'false', placeholder: 'ssh-ed25519 AAAA… you@laptop' });
  const nameF = field('key-name', 'Name', name, 'To recognise it, e.g. "laptop".');
  const keyF = field('key-text', 'Public key', key, 'One line of your .pub file (ssh-keygen -t ed25519 creates a pair).');
  const status = h('div', { class: 'form-status' });
  const generate = h('button', { type: 'button', class: 'btn' }, 'Generate a key pair');
  const form = h('form', { class: 'card form', novalidate: true, 'aria-labelledby': 'addkey-title' },
    h('h2', { id: 'addkey-title' }, 'Add a public key'), nameF.el, keyF.el, status,
    h('div', { class: 'actions' }, generate, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Add key')));
  generate.addEventListener('click', async () => {
    nameF.setError(name.value.trim() ? null : 'A name is required.');
    if (!name.value.trim()) return;
    try {
      const created = await ctx.api.addSshKey(name.value.trim());
      const pem = created.privateKey ?? '';
      const file = `nbg_${created.name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
      const link = h('a', { class: 'btn btn-primary', download: file, href: URL.createObjectURL(new Blob([pem], { type: 'application/x-pem-file' })) }, `Download ${file}`);
      status.replaceChildren(notice('warn',
        h('p', null, 'Your private key is shown this once and is not stored by the gateway. Save it as ', h('code', null, `~/.ssh/${file}`), ' with ', h('code', null, `chmod 600 ~/.ssh/${file}`), '.'),
        h('pre', { class: 'code', tabindex: 0, 'aria-label': 'Private key' }, pem), link, ' ', copyButton(() => pem, 'Copy private key')));
      name.value = '';
      await load();
    } catch (err) {
      status.replaceChildren(notice('error', errorText(err)));
    }
  });
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
