import { Dialog, showDialog, showErrorMessage, Notification } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import { countdown } from '@nbgateway/lab-services';
import type { InstanceModel } from './model';

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls: string, text = ''): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text) e.textContent = text;
  return e;
}

/** `stops in 2h 05m`, or `stopping…` once the lease has ended. */
function stopsIn(at: number): string {
  const left = at - Date.now();
  return left > 0 ? `stops in ${countdown(left)}` : 'stopping…';
}

/** `nb1 · RUNNING · stops in 2h 05m` in the status bar; a click opens the panel. */
export class InstanceStatusItem extends Widget {
  private readonly _tick: ReturnType<typeof setInterval>;

  constructor(private readonly _model: InstanceModel, open: () => void) {
    super({ node: el('button', 'nbg-InstanceStatus') });
    this.node.setAttribute('type', 'button');
    this.node.title = 'Instance: state and auto-stop';
    this.node.addEventListener('click', open);
    _model.changed.connect(this._render, this);
    this._tick = setInterval(() => this._render(), 1000);
    this._render();
  }

  private _render(): void {
    const inst = this._model.instance;
    const at = this._model.leaseExpiresAt;
    const parts = [this._model.info.name, inst?.status ?? '…'];
    if (at !== null && inst?.status === 'RUNNING') parts.push(stopsIn(at));
    this.node.textContent = parts.join(' · ');
    this.node.dataset.status = inst?.status ?? '';
  }

  override dispose(): void {
    clearInterval(this._tick);
    super.dispose();
  }
}

/** The side panel: facts, renew, stop, flavor for the next start. */
export class InstancePanel extends Widget {
  private readonly _body = el('div', 'nbg-InstancePanel-body');
  private readonly _lease = el('span', 'nbg-InstancePanel-lease');
  private readonly _tick: ReturnType<typeof setInterval>;

  constructor(private readonly _model: InstanceModel) {
    super();
    this.addClass('nbg-InstancePanel');
    this.title.label = 'Instance';
    this.title.caption = 'This notebook instance';
    this.node.append(el('h2', '', 'Instance'), this._body);
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', 'Instance');
    _model.changed.connect(this._render, this);
    this._tick = setInterval(() => this._renderLease(), 1000);
    this._render();
  }

  async renew(): Promise<void> {
    try {
      await this._model.renew();
      Notification.success('Lease renewed', { autoClose: 4000 });
    } catch (err) {
      await showErrorMessage('Renew the lease', (err as Error).message);
    }
  }

  async stop(): Promise<void> {
    const r = await showDialog({
      title: `Stop ${this._model.info.name}?`,
      body: 'Kernels and terminals end; files in ~/work and installed packages stay. Start it again from the console.',
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Stop' })]
    });
    if (!r.button.accept) return;
    try {
      await this._model.stop();
    } catch (err) {
      await showErrorMessage('Stop the instance', (err as Error).message);
    }
  }

  private _renderLease(): void {
    const at = this._model.leaseExpiresAt;
    const inst = this._model.instance;
    this._lease.textContent = at === null ? 'no timed stop' : inst?.status === 'RUNNING' ? stopsIn(at) : 'paused';
  }

  private _render(): void {
    const inst = this._model.instance;
    this._body.replaceChildren();
    if (this._model.error) this._body.append(el('p', 'nbg-InstancePanel-error', this._model.error));
    if (!inst) return;
    const facts = el('dl', 'nbg-InstancePanel-facts');
    const row = (k: string, v: Node | string): void => {
      const dd = el('dd', '');
      dd.append(v);
      facts.append(el('dt', '', k), dd);
    };
    row('Name', inst.name);
    row('State', inst.status + (inst.statusReason ? ` (${inst.statusReason})` : ''));
    row('Image', inst.image);
    row('Flavor', inst.nextFlavor ? `${inst.flavor} (${inst.nextFlavor} at the next start)` : inst.flavor);
    row('Storage', inst.storage.type === 'local' ? `local, ${inst.storage.sizeGB} GB` : 'OBS');
    this._renderLease();
    row('Auto-stop', this._lease);
    this._body.append(facts);

    const actions = el('div', 'nbg-InstancePanel-actions');
    if (this._model.leaseExpiresAt !== null && inst.status === 'RUNNING') {
      const renew = el('button', 'jp-mod-styled jp-mod-accept', 'Renew lease');
      renew.addEventListener('click', () => void this.renew());
      actions.append(renew);
    }
    if (this._model.can('stop')) {
      const stop = el('button', 'jp-mod-styled jp-mod-warn', 'Stop instance');
      stop.addEventListener('click', () => void this.stop());
      actions.append(stop);
    }
    this._body.append(actions, this._flavorForm());
  }

  private _flavorForm(): HTMLElement {
    const box = el('div', 'nbg-InstancePanel-flavor');
    const label = el('label', '', 'Flavor for the next start');
    const select = el('select', 'jp-mod-styled');
    label.append(select);
    const apply = el('button', 'jp-mod-styled', 'Change flavor');
    const hint = el('p', 'nbg-InstancePanel-hint', 'The instance keeps running; the new flavor takes effect at its next start.');
    box.append(label, apply, hint);
    void this._model.flavorChoices().then(list => {
      for (const f of list) {
        const o = new Option(`${f.id} — ${f.description}${f.granted ? '' : ' (invite-only: ask an administrator)'}`, f.id, false, f.id === this._model.instance?.flavor);
        o.disabled = !f.granted && f.id !== this._model.instance?.flavor;
        select.append(o);
      }
    }).catch(() => undefined);
    apply.addEventListener('click', async () => {
      const flavor = select.value;
      if (!flavor || flavor === (this._model.instance?.nextFlavor ?? this._model.instance?.flavor)) return;
      try {
        await this._model.setFlavor(flavor);
        const now = this._model.instance;
        Notification.success(now?.flavor === flavor ? `Flavor set to ${flavor}` : `${flavor} takes effect at the next start; the instance keeps running`, { autoClose: 5000 });
      } catch (err) {
        await showErrorMessage('Change flavor', (err as Error).message);
      }
    });
    return box;
  }

  override dispose(): void {
    clearInterval(this._tick);
    super.dispose();
  }
}
