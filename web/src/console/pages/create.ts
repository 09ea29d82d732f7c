/**
 * Create an instance: name with live validation, image from the catalogue (chips, SSH and
 * JupyterLab flags; presets and the user's custom images), flavor filtered by the image's
 * chips, storage mode and size, SSH keys and allow-list, auto-stop.
 */
import type { FlavorInfo, ImageInfo } from '../../../../server/src/api/types';
import { h, mount } from '../dom';
import type { AppContext, PageView } from '../context';
import { ResponseError, type CreateInstanceBody } from '../api/restapi';
import type { SshKey } from '../api/wire';
import { errorText, field, notice, toast } from '../components/ui';
import {
  DESCRIPTION_MAX, LEASE_MAX_HOURS, LEASE_MIN_HOURS, NAME_MAX, STORAGE_DEFAULT_GB, STORAGE_MAX_GB, STORAGE_MIN_GB,
  descriptionProblem, leaseHoursProblem, nameProblem, parseAllowList, storageProblem
} from '../logic/validate';
import { flavorsForImage } from '../logic/catalogue';

export async function createPage(ctx: AppContext): Promise<PageView> {
  const [images, flavors, existing, keys] = await Promise.all([
    ctx.api.images().then(r => r.items),
    ctx.api.flavors().then(r => r.items),
    ctx.api.listInstances({ limit: 100 }).then(r => r.items.map(i => i.name)).catch(() => [] as string[]),
    ctx.api.sshKeys().then(r => r.items).catch(() => null as SshKey[] | null)
  ]);

  const name = h('input', { name: 'name', maxlength: NAME_MAX * 2, autocomplete: 'off', required: true, spellcheck: 'false' });
  const nameField = field('create-name', 'Name', name, '1–20 characters: letters, digits, "_" and "-". Unique among your instances.');
  const desc = h('textarea', { name: 'description', rows: 2 });
  const descField = field('create-desc', 'Description (optional)', desc, `Up to ${DESCRIPTION_MAX} characters.`);

  // Image picker: radio cards, keyboard-navigable as one group.
  let image: ImageInfo | undefined = images.find(i => !i.custom) ?? images[0];
  const imageCards = h('div', { class: 'cards', role: 'radiogroup', 'aria-labelledby': 'image-legend' });
  const renderImages = (): void => {
    mount(imageCards, images.map(img => {
      const radio = h('input', { type: 'radio', name: 'image', value: img.name, checked: img === image, 'data-image': img.name });
      radio.addEventListener('change', () => {
        image = img;
        updateForImage();
      });
      return h('label', { class: 'card-option' },
        radio,
        h('span', { class: 'card-title' }, img.name),
        h('span', { class: 'card-desc' }, img.description),
        h('span', { class: 'chips' },
          ...img.chips.map(c => h('span', { class: `chip chip-${c}` }, c.toUpperCase())),
          h('span', { class: `chip ${img.ssh ? 'chip-yes' : 'chip-no'}` }, img.ssh ? 'SSH' : 'no SSH'),
          img.custom ? h('span', { class: 'chip' }, 'custom') : null));
    }));
  };

  const flavor = h('select', { name: 'flavor' });
  const flavorField = field('create-flavor', 'Flavor', flavor, 'Only flavors whose chip the image supports are listed.');

  const storageLocal = h('input', { type: 'radio', name: 'storage', value: 'local', checked: true });
  const storageObs = h('input', { type: 'radio', name: 'storage', value: 'obs' });
  const size = h('input', { type: 'number', name: 'sizeGB', min: STORAGE_MIN_GB, max: STORAGE_MAX_GB, step: 1, value: String(STORAGE_DEFAULT_GB) });
  const sizeField = field('create-size', 'Volume size (GB)', size, `${STORAGE_MIN_GB}–${STORAGE_MAX_GB} GB, mounted at ~/work and kept across restarts.`);

  const sshOn = h('input', { type: 'checkbox', name: 'ssh' });
  const sshKeys = h('div', { class: 'sub' });
  if (keys === null) sshKeys.append(notice('info', 'SSH is not available on this gateway.'));
  else if (keys.length === 0) sshKeys.append(notice('warn', 'You have no SSH keys yet: ', h('a', { href: '#/keys' }, 'add or generate a key pair'), ' to connect.'));
  else sshKeys.append(h('p', { class: 'hint' }, `Your ${keys.length} key${keys.length === 1 ? '' : 's'} (${keys.map(k => k.name).join(', ')}) can connect; only your keys open your instances.`));
  const allow = h('textarea', { name: 'allowedCidrs', rows: 2, placeholder: '203.0.113.0/24, 2001:db8::/32' });
  const allowField = field('create-allow', 'IP allow-list (optional)', allow, 'CIDRs allowed to connect; empty allows any address.');
  const sshBox = h('div', { class: 'sub', hidden: true }, sshKeys, allowField.el);

  const timingOn = h('input', { type: 'checkbox', name: 'timing' });
  const hours = h('input', { type: 'number', name: 'timingHours', min: LEASE_MIN_HOURS, max: LEASE_MAX_HOURS, step: 1, value: '4' });
  const hoursField = field('create-hours', 'Stop after (hours)', hours, `${LEASE_MIN_HOURS}–${LEASE_MAX_HOURS} hours from each start or renewal.`);
  const idleOn = h('input', { type: 'checkbox', name: 'idle' });
  const idle = h('input', { type: 'number', name: 'idleMinutes', min: 5, max: 1440, step: 1, value: '60' });
  const idleField = field('create-idle', 'Stop when idle for (minutes)', idle, 'No kernel, terminal, SSH or HTTP activity for this long; a busy kernel counts as activity.');

  const status = h('div', { class: 'form-status' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create and start');

  const updateForImage = (): void => {
    const allowed = image ? flavorsForImage(flavors, image) : [];
    const current = flavor.value;
    mount(flavor, allowed.map(f => h('option', { value: f.id, selected: f.id === current, disabled: !f.granted }, flavorLabel(f))));
    const usable = allowed.filter(f => f.granted);
    if (!usable.some(f => f.id === current) && usable[0]) flavor.value = usable[0].id;
    flavorField.setError(allowed.length ? null : 'No flavor supports this image\u2019s chips.');
    sshOn.disabled = !image?.ssh;
    if (!image?.ssh) sshOn.checked = false;
    sshBox.hidden = !sshOn.checked;
  };
  const validate = (): boolean => {
    const problems = [
      [nameField, nameProblem(name.value, existing)],
      [descField, descriptionProblem(desc.value)],
      [sizeField, storageLocal.checked ? storageProblem(Number(size.value)) : null],
      [hoursField, timingOn.checked ? leaseHoursProblem(Number(hours.value)) : null],
      [allowField, sshOn.checked && parseAllowList(allow.value).problems[0] || null]
    ] as const;
    for (const [f, p] of problems) f.setError(p);
    return problems.every(([, p]) => p === null) && image !== undefined && flavor.value !== '';
  };
  name.addEventListener('input', () => nameField.setError(nameProblem(name.value, existing)));
  desc.addEventListener('input', () => descField.setError(descriptionProblem(desc.value)));
  size.addEventListener('input', () => sizeField.setError(storageProblem(Number(size.value))));
  for (const r of [storageLocal, storageObs]) r.addEventListener('change', () => (sizeField.el.hidden = !storageLocal.checked));
  sshOn.addEventListener('change', () => (sshBox.hidden = !sshOn.checked));
  timingOn.addEventListener('change', () => (hoursField.el.hidden = !timingOn.checked));
  idleOn.addEventListener('change', () => (idleField.el.hidden = !idleOn.checked));
  hoursField.el.hidden = true;
  idleField.el.hidden = true;

  const form = h('form', { class: 'card form', novalidate: true, 'aria-labelledby': 'create-title' },
    h('h1', { id: 'create-title' }, 'Create a notebook instance'),
    nameField.el,
    descField.el,
    h('fieldset', null, h('legend', { id: 'image-legend' }, 'Image'), imageCards),
    flavorField.el,
    h('fieldset', null, h('legend', null, 'Storage'),
      h('label', { class: 'check' }, storageLocal, ' Local volume (~/work, persistent)'),
      h('label', { class: 'check' }, storageObs, ' Object storage (OBS): the file browser works on your bucket path'),
      sizeField.el),
    h('fieldset', null, h('legend', null, 'Remote SSH'),
      h('label', { class: 'check' }, sshOn, ' Enable SSH (VS Code, PyCharm, OpenSSH)'),
      sshBox),
    h('fieldset', null, h('legend', null, 'Auto-stop'),
      h('label', { class: 'check' }, timingOn, ' Stop at a set time'), hoursField.el,
      h('label', { class: 'check' }, idleOn, ' Stop when idle'), idleField.el),
    status,
    h('div', { class: 'actions' }, h('a', { class: 'btn', href: '#/notebooks' }, 'Cancel'), submit));

  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    status.replaceChildren();
    if (!validate() || !image) {
      form.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
      return;
    }
    const body: CreateInstanceBody = {
      name: name.value,
      image: image.name,
      flavor: flavor.value,
      storage: storageLocal.checked ? { type: 'local', sizeGB: Number(size.value) } : { type: 'obs', sizeGB: STORAGE_DEFAULT_GB }
    };
    if (desc.value) body.description = desc.value;
    if (timingOn.checked || idleOn.checked) {
      body.autoStop = {};
      if (timingOn.checked) body.autoStop.timingHours = Number(hours.value);
      if (idleOn.checked) body.autoStop.idleMinutes = Number(idle.value);
    }
    submit.disabled = true;
    try {
      const inst = await ctx.api.createInstance(body);
      if (sshOn.checked) {
        // SSH settings are their own resource; the instance exists even if this fails.
        await ctx.api.setInstanceSsh(inst.id, { enabled: true, allowCidrs: parseAllowList(allow.value).entries }).catch(err => toast(`SSH was not enabled: ${errorText(err)}`, 'error'));
      }
      ctx.navigate(`#/notebooks/${encodeURIComponent(inst.id)}`);
    } catch (err) {
      status.replaceChildren(notice('error', errorText(err)));
      if (err instanceof ResponseError && err.code.startsWith('NB_ERR_INSTANCE_NAME')) {
        nameField.setError(err.message);
        name.focus();
      }
    } finally {
      submit.disabled = false;
    }
  });

  renderImages();
  updateForImage();
  return { el: h('main', { id: 'main', class: 'page' }, form), title: 'Create instance' };
}

function flavorLabel(f: FlavorInfo): string {
  return `${f.id} — ${f.description}${f.inviteOnly ? (f.granted ? ' (invite-only, granted to you)' : ' (invite-only: ask an administrator)') : ''}`;
}
