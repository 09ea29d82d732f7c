/**
 * The console: signs in, then routes between pages (instances, create, one instance, images,
 * training jobs, key pairs, audit for admins). Plain DOM and TypeScript: the whole console is
 * a few tens of kB, so it is interactive as soon as it loads.
 */
import './styles.css';
import { h, mount } from './dom';
import { InstanceAPIClient, ResponseError } from './api/restapi';
import type { Me } from './api/wire';
import type { AppContext, PageFactory, PageView } from './context';
import { matchRoute, safeNext, type Route } from './router';
import { errorText, notice } from './components/ui';
import { signInPage } from './pages/signin';
import { instancesPage } from './pages/instances';
import { createPage } from './pages/create';
import { instanceDetailPage } from './pages/instance-detail';
import { imagesPage } from './pages/images';
import { jobDetailPage, jobsPage } from './pages/jobs';
import { jobCreatePage } from './pages/job-create';
import { keysPage } from './pages/keys';
import { auditPage } from './pages/audit';

const ROUTES: Route<PageFactory>[] = [
  { pattern: '/', value: instancesPage },
  { pattern: '/notebooks', value: instancesPage },
  { pattern: '/notebooks/new', value: createPage },
  { pattern: '/notebooks/:id', value: instanceDetailPage },
  { pattern: '/images', value: imagesPage },
  { pattern: '/jobs', value: jobsPage },
  { pattern: '/jobs/new', value: jobCreatePage },
  { pattern: '/jobs/:id', value: jobDetailPage },
  { pattern: '/keys', value: keysPage },
  { pattern: '/audit', value: auditPage }
];

const NAV: { hash: string; label: string; admin?: boolean }[] = [
  { hash: '#/notebooks', label: 'Instances' },
  { hash: '#/images', label: 'Images' },
  { hash: '#/jobs', label: 'Training jobs' },
  { hash: '#/keys', label: 'Key pairs' },
  { hash: '#/audit', label: 'Audit log', admin: true }
];

const root = document.getElementById('app')!;
const api = new InstanceAPIClient();
let current: PageView | null = null;
let seq = 0;

function isSignIn(): boolean {
  return location.hash.startsWith('#/signin');
}

function shell(me: Me, content: HTMLElement): HTMLElement {
  const signOut = h('button', { type: 'button', class: 'btn btn-small' }, 'Sign out');
  signOut.addEventListener('click', async () => {
    await api.logout().catch(() => undefined);
    location.hash = '#/signin';
  });
  const here = location.hash.split('?')[0] || '#/notebooks';
  return h('div', { class: 'layout' },
    h('a', { class: 'skip', href: '#main', onclick: (ev: Event) => {
      ev.preventDefault();
      document.getElementById('main')?.focus();
    } }, 'Skip to content'),
    h('header', { class: 'topbar' },
      h('a', { class: 'brand', href: '#/notebooks' }, 'nbgateway'),
      h('nav', { 'aria-label': 'Main' }, h('ul', null, NAV.filter(n => !n.admin || me.role === 'admin').map(n =>
        h('li', null, h('a', { href: n.hash, 'aria-current': here === n.hash || (n.hash === '#/notebooks' && here.startsWith('#/notebooks')) || (n.hash !== '#/notebooks' && here.startsWith(n.hash)) ? 'page' : false }, n.label))))),
      h('div', { class: 'user' }, h('span', { class: 'muted' }, `${me.name}${me.role === 'admin' ? ' (admin)' : ''}`), ' ', signOut)),
    content);
}

async function render(): Promise<void> {
  const mine = ++seq;
  current?.dispose?.();
  current = null;
  if (isSignIn()) {
    const next = safeNext(new URLSearchParams(location.hash.split('?')[1] ?? '').get('next'));
    mount(root, signInPage(api, () => {
      if (next) location.assign(next);
      else location.hash = '#/notebooks';
    }));
    document.title = 'Sign in · nbgateway';
    return;
  }
  let me: Me;
  try {
    me = await api.me();
  } catch (err) {
    if (err instanceof ResponseError && err.status === 401) {
      location.hash = '#/signin';
      return;
    }
    mount(root, h('main', { class: 'center' }, notice('error', errorText(err))));
    return;
  }
  const match = matchRoute(ROUTES, location.hash);
  const ctx: AppContext = { api, me, navigate: hash => (location.hash = hash) };
  let view: PageView;
  try {
    view = match ? await match.value(ctx, match.params, match.query) : { el: h('main', { id: 'main', class: 'page' }, notice('error', 'No such page.')), title: 'Not found' };
  } catch (err) {
    if (err instanceof ResponseError && err.status === 401) {
      location.hash = '#/signin';
      return;
    }
    view = { el: h('main', { id: 'main', class: 'page' }, notice('error', errorText(err))), title: 'Error' };
  }
  if (mine !== seq) {
    view.dispose?.();
    return;
  }
  current = view;
  view.el.tabIndex = -1;
  mount(root, shell(me, view.el));
  document.title = `${view.title} · nbgateway`;
  root.dataset.route = match?.pattern ?? 'none';
}

window.addEventListener('hashchange', () => void render());
void render();
