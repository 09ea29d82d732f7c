/**
 * Sign-in: the gateway sets the session cookie; the console then follows `next` (a lab page
 * that sent the browser here) or opens the instance list.
 */
import { h } from '../dom';
import type { InstanceAPIClient } from '../api/restapi';
import { errorText, field, notice } from '../components/ui';

export function signInPage(api: InstanceAPIClient, onDone: () => void): HTMLElement {
  const user = h('input', { name: 'username', autocomplete: 'username', required: true, autofocus: true });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const status = h('div', { class: 'form-status' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Sign in');
  const form = h('form', { class: 'card signin', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sign in to nbgateway'),
    field('signin-user', 'User name', user).el,
    field('signin-pass', 'Password', pass).el,
    status,
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    submit.disabled = true;
    status.replaceChildren();
    try {
      await api.login(user.value.trim(), pass.value);
      onDone();
    } catch (err) {
      status.replaceChildren(notice('error', errorText(err)));
      pass.select();
    } finally {
      submit.disabled = false;
    }
  });
  return h('main', { class: 'center', id: 'main' }, form);
}
