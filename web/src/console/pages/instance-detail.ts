/**
 * One instance: state and progress of starts, lease countdown with renew, the allowed
 * operations, flavor change for the next start, save as image with its progress, and SSH
 * connection instructions with a copyable config block.
 */
import type { FlavorInfo } from '../../../../server/src/api/types';
import { h, mount } from '../dom';
import { every, type AppContext, type PageView } from '../context';
import { badge, copyButton, errorText, field, notice, toast, unavailable } from '../components/ui';
import { instanceActions } from '../components/instance-actions';
import { countdown, dateTime, isTransitional } from '../logic/format';
import { can, leaseOf } from '../logic/instance-view';
import { flavorsForImage } from '../logic/catalogue';
import { hostAlias, sshCommand, sshConfigBlock, type SshEndpoint } from '../logic/ssh-config';
import { LEASE_MAX_HOURS, LEASE_MIN_HOURS, leaseHoursProblem, parseAllowList } from '../logic/validate';
import { ResponseError } from '../api/restapi';
import type { InstanceSshInfo } from '../api/wire';

export async function instanceDetailPage(ctx: AppContext, params: Record<string, string>): Promise<PageView> {
  const id = params.id!;
  let inst = await ctx.api.getInstance(id);
  const [flavors, images] = await Promise.all([ctx.api.flavors().then(r => r.items), ctx.api.images().then(r => r.items)]);
  const summary = h('section', { class: 'card', 'aria-labelledby': 'sum-title' });
  const progress = h('section', { class: 'card', 'aria-labelledby': 'prog-title' });
  const manage = h('section', { class: 'card', 'aria-labelledby': 'manage-title' });
  const ssh = h('section', { class: 'card', 'aria-labelledby': 'ssh-title' });
  const output = h('section', { class: 'card', 'aria-labelledby': 'out-title' });
  const el = h('main', { id: 'main', class: 'page' }, h('p', null, h('a', { href: '#/notebooks' }, '← Instances')), summary, progress, manage, ssh, output);
  let lastStatus = '';

  const renderSummary = (): void => {
    const lease = leaseOf(inst);
    const leaseEl = h('span', { class: 'lease' }, '—');
    if (lease?.expiresAt) {
      leaseEl.dataset.expiresAt = String(lease.expiresAt);
      leaseEl.textContent = inst.status === 'RUNNING' ? countdown(lease.expiresAt - Date.now()) : 'paused';
    } else if (lease?.idleMinutes) leaseEl.textContent = `after ${lease.idleMinutes} idle minutes`;
    if (lease?.expiresAt && lease.idleMinutes) leaseEl.title = `also after ${lease.idleMinutes} idle minutes`;
    const renew = lease?.expiresAt && inst.status === 'RUNNING' ? h('button', { type: 'button', class: 'btn btn-small' }, 'Renew') : null;
    renew?.addEventListener('click', async () => {
      try {
        await ctx.api.renewLease(inst.id);
        inst = await ctx.api.getInstance(inst.id);
        toast('Lease renewed');
        renderSummary();
      } catch (err) {
        toast(errorText(err), 'error');
      }
    });
    mount(summary,
      h('div', { class: 'page-head' }, h('h1', { id: 'sum-title' }, inst.name), instanceActions(ctx, inst, () => void refresh())),
      h('dl', { class: 'facts' },
        h('dt', null, 'State'), h('dd', null, badge(inst.status), inst.statusReason ? h('span', { class: 'muted' }, ` ${inst.statusReason}`) : null),
        h('dt', null, 'Image'), h('dd', null, inst.image),
        h('dt', null, 'Flavor'), h('dd', null, inst.flavor),
        h('dt', null, 'Storage'), h('dd', null, inst.storage.type === 'local' ? `local volume, ${inst.storage.sizeGB} GB at ~/work` : 'object storage (OBS)'),
        h('dt', null, 'Auto-stop'), h('dd', null, leaseEl, renew ? ' ' : null, renew),
        h('dt', null, 'Description'), h('dd', null, inst.description || '—'),
        h('dt', null, 'Owner'), h('dd', null, inst.owner.name),
        h('dt', null, 'Created'), h('dd', null, dateTime(inst.createdAt)),
        h('dt', null, 'Started'), h('dd', null, dateTime(inst.startedAt)),
        h('dt', null, 'Id'), h('dd', null, h('code', null, inst.id))));
  };

  const renderProgress = async (): Promise<void> => {
    let events: { message: string; progress?: number }[] = [];
    try {
      events = (await ctx.api.progress(inst.id)).events;
    } catch {
      /* shown as no progress */
    }
    const last = events.at(-1);
    mount(progress,
      h('h2', { id: 'prog-title' }, 'Progress'),
      isTransitional(inst.status) && last?.progress !== undefined ? h('progress', { max: 100, value: String(last.progress), 'aria-label': 'Start progress' }) : null,
      events.length === 0 ? h('p', { class: 'muted' }, 'No recent start.') : h('ol', { class: 'events' }, events.map(e => h('li', null, e.progress !== undefined ? `${e.progress}% ` : '', e.message))));
  };

  // Fetched when asked for: a log can be large and most visits do not need it.
  const renderOutput = (text: string | null): void => {
    const load = h('button', { type: 'button', class: 'btn btn-small' }, text === null ? 'Show output' : 'Refresh');
    load.addEventListener('click', async () => {
      try {
        renderOutput(await ctx.api.instanceOutput(inst.id));
      } catch (err) {
        toast(errorText(err), 'error');
      }
    });
    mount(output,
      h('div', { class: 'page-head' }, h('h2', { id: 'out-title' }, 'Output'), load),
      text === null
        ? h('p', { class: 'muted' }, 'What the kernel gateway and its kernels wrote, across starts (the last 200 lines).')
        : h('pre', { class: 'code log', tabindex: 0, 'aria-label': 'Instance output' }, text || '(no output yet)'));
  };
  renderOutput(null);

  const renderManage = (): void => {
    const image = images.find(i => i.name === inst.image);
    const allowed: FlavorInfo[] = image ? flavorsForImage(flavors, image) : flavors;
    const flavorSel = h('select', null, allowed.map(f => h('option', { value: f.id, selected: f.id === inst.flavor, disabled: !f.granted && f.id !== inst.flavor }, `${f.id} — ${f.description}${f.granted ? '' : ' (invite-only: ask an administrator)'}`)));
    const flavorF = field('detail-flavor', 'Flavor for the next start', flavorSel, can(inst, 'updateFlavor') ? 'Takes effect when the instance starts.' : 'Stop the instance to change its flavor.');
    flavorSel.disabled = !can(inst, 'updateFlavor');
    const saveFlavor = h('button', { type: 'button', class: 'btn', disabled: !can(inst, 'updateFlavor') }, 'Change flavor');
    saveFlavor.addEventListener('click', async () => {
      try {
        inst = await ctx.api.updateInstance(inst.id, { flavor: flavorSel.value });
        toast(`Flavor set to ${inst.flavor}`);
        renderAll();
      } catch (err) {
        flavorF.setError(errorText(err));
      }
    });

    const imgName = h('input', { autocomplete: 'off', value: `${inst.name.toLowerCase().replace(/[^a-z0-9_.-]/g, '-')}` });
    const imgTag = h('input', { autocomplete: 'off', value: 'v1' });
    const saveStatus = h('div', { class: 'form-status', 'aria-live': 'polite' });
    const saveBtn = h('button', { type: 'button', class: 'btn', disabled: !can(inst, 'saveImage') }, 'Save as image');
    saveBtn.addEventListener('click', async () => {
      saveBtn.disabled = true;
      const bar = h('progress', { max: 100, 'aria-label': 'Save progress' });
      const line = h('span', null, 'Saving…');
      mount(saveStatus, bar, ' ', line);
      try {
        const img = await ctx.api.saveImage(inst.id, { name: imgName.value, tag: imgTag.value }, p => {
          if (p.progress !== undefined) bar.value = p.progress;
          line.textContent = p.message ?? p.step ?? 'Saving…';
        });
        mount(saveStatus, notice('info', `Saved as ${img.name}. It can start new instances and run training jobs.`));
      } catch (err) {
        mount(saveStatus, notice('error', errorText(err)));
      } finally {
        saveBtn.disabled = !can(inst, 'saveImage');
        void refresh();
      }
    });

    const lease = inst.autoStop;
    const hours = h('input', { type: 'number', min: LEASE_MIN_HOURS, max: LEASE_MAX_HOURS, step: 1, value: lease?.timingHours ? String(lease.timingHours) : '', placeholder: 'off' });
    const idle = h('input', { type: 'number', min: 1, max: 10080, step: 1, value: lease?.idleMinutes ? String(lease.idleMinutes) : '', placeholder: 'off' });
    const hoursF = field('detail-hours', 'Stop after (hours)', hours, `${LEASE_MIN_HOURS}–${LEASE_MAX_HOURS} hours from each start or renewal; empty: no timed stop.`);
    const idleF = field('detail-idle', 'Stop when idle for (minutes)', idle, 'Empty: never for idleness. A busy kernel counts as activity.');
    const saveLease = h('button', { type: 'button', class: 'btn' }, 'Save auto-stop');
    saveLease.addEventListener('click', async () => {
      const timingHours = hours.value === '' ? null : Number(hours.value);
      const idleMinutes = idle.value === '' ? null : Number(idle.value);
      const p = timingHours === null ? null : leaseHoursProblem(timingHours);
      hoursF.setError(p);
      if (p) return;
      try {
        await ctx.api.setLease(inst.id, { timingHours, idleMinutes });
        inst = await ctx.api.getInstance(inst.id);
        toast('Auto-stop saved');
        renderSummary();
      } catch (err) {
        idleF.setError(errorText(err));
      }
    });

    mount(manage,
      h('h2', { id: 'manage-title' }, 'Manage'),
      h('div', { class: 'grid2' },
        h('div', null, flavorF.el, saveFlavor, hoursF.el, idleF.el, saveLease),
        h('div', null,
          field('detail-img-name', 'Image name', imgName).el,
          field('detail-img-tag', 'Tag', imgTag, 'Installed pip packages are kept; ~/work is not part of the image.').el,
          saveBtn, saveStatus)));
  };

  const renderSsh = async (): Promise<void> => {
    const image = images.find(i => i.name === inst.image);
    const head = h('h2', { id: 'ssh-title' }, 'Remote SSH');
    if (!image?.ssh) {
      mount(ssh, head, h('p', { class: 'muted' }, `The image ${inst.image} does not support SSH.`));
      return;
    }
    let info: InstanceSshInfo;
    try {
      info = await ctx.api.instanceSsh(inst.id);
    } catch (err) {
      mount(ssh, head, err instanceof ResponseError && err.isMissingRoute ? unavailable('SSH') : notice('error', errorText(err)));
      return;
    }
    const toggle = h('button', { type: 'button', class: 'btn' }, info.enabled ? 'Disable SSH' : 'Enable SSH');
    const allow = h('textarea', { rows: 2, value: info.allowCidrs.join('\n'), placeholder: 'any address' });
    const allowF = field('ssh-allow', 'IP allow-list', allow, 'CIDRs allowed to connect (one per line); empty allows any address.');
    const saveAllow = h('button', { type: 'button', class: 'btn' }, 'Save allow-list');
    const update = async (body: { enabled?: boolean; allowCidrs?: string[] }): Promise<void> => {
      try {
        await ctx.api.setInstanceSsh(inst.id, body);
        toast('SSH settings saved');
        await renderSsh();
      } catch (err) {
        allowF.setError(errorText(err));
      }
    };
    toggle.addEventListener('click', () => void update({ enabled: !info.enabled }));
    saveAllow.addEventListener('click', () => {
      const { entries, problems } = parseAllowList(allow.value);
      allowF.setError(problems[0] ?? null);
      if (!problems.length) void update({ allowCidrs: entries });
    });
    const parts: (HTMLElement | string)[] = [head, h('div', { class: 'row-actions' }, toggle)];
    if (info.enabled && info.connect) {
      const ep: SshEndpoint = { host: info.connect.host, port: info.connect.port, user: info.connect.user };
      const block = sshConfigBlock(inst.name, ep);
      parts.push(
        h('p', null, 'Add this to ~/.ssh/config, then connect with VS Code Remote-SSH, PyCharm or ', h('code', null, `ssh ${hostAlias(inst.name)}`), '. Your registered keys (', h('a', { href: '#/keys' }, 'Key pairs'), ') open it.'),
        h('pre', { class: 'code', 'aria-label': 'SSH config block', tabindex: 0 }, block),
        copyButton(() => block, 'Copy config'),
        h('p', null, 'Or once: ', h('code', null, sshCommand(ep))),
        h('p', { class: 'small muted' }, `Host key ${info.connect.hostKey.fingerprint}; for known_hosts:`),
        h('pre', { class: 'code small' }, info.connect.knownHosts));
    } else if (info.enabled) parts.push(notice('info', 'This gateway runs without an SSH server.'));
    else parts.push(h('p', { class: 'muted' }, 'SSH is off for this instance.'));
    parts.push(allowF.el, saveAllow);
    mount(ssh, ...parts);
  };

  const renderAll = (): void => {
    renderSummary();
    renderManage();
    void renderSsh();
    void renderProgress();
  };
  const refresh = async (): Promise<void> => {
    try {
      inst = await ctx.api.getInstance(id);
    } catch (err) {
      mount(summary, notice('error', errorText(err)));
      return;
    }
    if (inst.status !== lastStatus) {
      lastStatus = inst.status;
      renderAll();
    } else if (isTransitional(inst.status)) {
      renderSummary();
      await renderProgress();
    }
  };
  lastStatus = inst.status;
  renderAll();
  let lastLoad = Date.now();
  // Live status and start progress from the gateway's event stream; polling stays as a
  // slower fallback (and for the lease countdown).
  const events = typeof EventSource === 'undefined' ? null : new EventSource(ctx.api.eventsUrl(id));
  events?.addEventListener('status', () => {
    lastLoad = 0;
  });
  events?.addEventListener('progress', () => void renderProgress());
  events?.addEventListener('deleted', () => ctx.navigate('#/notebooks'));
  const poll = every(1000, async () => {
    if (Date.now() - lastLoad >= (isTransitional(inst.status) ? 1500 : 10000)) {
      lastLoad = Date.now();
      await refresh();
    } else {
      const c = summary.querySelector<HTMLElement>('.lease[data-expires-at]');
      if (c && c.textContent !== 'paused') c.textContent = countdown(Number(c.dataset.expiresAt) - Date.now());
    }
  });
  return {
    el, title: inst.name,
    dispose: () => {
      poll.dispose();
      events?.close();
    }
  };
}
