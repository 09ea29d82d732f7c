/**
 * The operations an instance allows right now (`allowedOperations`), as buttons: Open
 * JupyterLab, Start, Stop, Delete. Nothing else is offered, so nothing is refused.
 */
import type { NotebookInstance } from '../../../../server/src/api/types';
import { h } from '../dom';
import type { AppContext } from '../context';
import { can, labUrl } from '../logic/instance-view';
import { confirmDialog, errorText, toast } from './ui';

export function instanceActions(ctx: AppContext, inst: NotebookInstance, changed: () => void): HTMLElement {
  const run = async (btn: HTMLButtonElement, fn: () => Promise<unknown>, done: string): Promise<void> => {
    btn.disabled = true;
    try {
      await fn();
      toast(done);
      changed();
    } catch (err) {
      toast(errorText(err), 'error');
      btn.disabled = false;
    }
  };
  const label = (verb: string): string => `${verb} ${inst.name}`;
  const out = h('div', { class: 'row-actions', role: 'group', 'aria-label': `Actions for ${inst.name}` });
  if (can(inst, 'open')) {
    out.append(h('a', { class: 'btn btn-primary btn-small', href: labUrl(inst), target: '_blank', rel: 'noopener', 'aria-label': `Open JupyterLab of ${inst.name}` }, 'Open JupyterLab'));
  }
  if (can(inst, 'start')) {
    const b = h('button', { type: 'button', class: 'btn btn-small', 'aria-label': label('Start') }, 'Start');
    b.addEventListener('click', () => void run(b, () => ctx.api.startInstance(inst.id), `Starting ${inst.name}…`));
    out.append(b);
  }
  if (can(inst, 'stop')) {
    const b = h('button', { type: 'button', class: 'btn btn-small', 'aria-label': label('Stop') }, 'Stop');
    b.addEventListener('click', () => void run(b, () => ctx.api.stopInstance(inst.id), `Stopping ${inst.name}…`));
    out.append(b);
  }
  if (can(inst, 'delete')) {
    const b = h('button', { type: 'button', class: 'btn btn-small btn-danger', 'aria-label': label('Delete') }, 'Delete');
    b.addEventListener('click', async () => {
      const ok = await confirmDialog(
        `Delete ${inst.name}?`,
        inst.storage.type === 'local'
          ? 'The instance is removed. Its ~/work volume is kept for the retention period and can be attached to a new instance.'
          : 'The instance is removed. Data in object storage is not touched.',
        'Delete'
      );
      if (ok) await run(b, () => ctx.api.deleteInstance(inst.id), `${inst.name} deleted`);
    });
    out.append(b);
  }
  return out;
}
