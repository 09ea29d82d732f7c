/**
 * Sync with object storage (SPEC §4, S1 §4.1.3.3), through the gateway's
 * `POST /api/v1/notebooks/<id>/sync`:
 *
 * - **Sync OBS** (`obs` instances): the file browser shows the object-storage path; the
 *   selected files and folders are copied into `~/work`. A dry run first shows what would be
 *   copied against the limits (1024 files; `~/work` at most 500 MB after); over a limit the
 *   gateway refuses before any copy, with the numbers, and the dialog shows that.
 * - **Push / pull** (**Decision**, SPEC §4, `local` instances): `~/work` to and from the
 *   user's storage prefix, incremental.
 *
 * Progress is followed in a notification until the sync ends.
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Dialog, ICommandPalette, Notification, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { Widget } from '@lumino/widgets';
import { gatewayRequest, instanceInfo, type IInstanceInfo } from '@nbgateway/lab-services';
import { planText, progressText, type ISyncJob } from './limits';

export * from './limits';

export const CommandIDs = { obs: 'nbg:sync-obs', push: 'nbg:sync-push', pull: 'nbg:sync-pull' } as const;

const text = (s: string): Widget => {
  const w = new Widget();
  w.node.textContent = s;
  return w;
};

/** Starts a sync and follows it in a notification until it ends. */
async function runSync(info: IInstanceInfo, body: Record<string, unknown>, browser: IDefaultFileBrowser): Promise<ISyncJob | null> {
  const path = `notebooks/${encodeURIComponent(info.id)}/sync`;
  const job = await gatewayRequest<ISyncJob>(info.apiUrl, 'POST', path, body);
  const id = Notification.emit(progressText(job), 'in-progress', { autoClose: false });
  let current = job;
  while (current.state === 'running' || current.state === 'planned') {
    await new Promise(r => setTimeout(r, 1000));
    current = await gatewayRequest<ISyncJob>(info.apiUrl, 'GET', `${path}/${encodeURIComponent(job.id)}`);
    Notification.update({ id, message: progressText(current), type: 'in-progress', autoClose: false });
  }
  Notification.update({ id, message: progressText(current), type: current.state === 'succeeded' ? 'success' : 'error', autoClose: current.state === 'succeeded' ? 6000 : false });
  void browser.model.refresh();
  return current;
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: '@nbgateway/sync-extension:plugin',
  description: 'Sync OBS into ~/work (obs instances); push and pull ~/work (local instances).',
  autoStart: true,
  requires: [IDefaultFileBrowser],
  optional: [ICommandPalette],
  activate: (app: JupyterFrontEnd, browser: IDefaultFileBrowser, palette: ICommandPalette | null) => {
    const info = instanceInfo();
    if (!info) return;
    const fail = (title: string, err: unknown): Promise<void> => showErrorMessage(title, (err as Error).message);

    if (info.storageType === 'obs') {
      app.commands.addCommand(CommandIDs.obs, {
        label: 'Sync to ~/work',
        caption: 'Copy the selected objects from object storage into ~/work',
        isEnabled: () => !browser.selectedItems().next().done,
        execute: async () => {
          const sources = Array.from(browser.selectedItems(), i => (i.type === 'directory' ? `${i.path.replace(/\/$/, '')}/` : i.path));
          if (sources.length === 0) return null;
          try {
            const plan = await gatewayRequest<ISyncJob>(info.apiUrl, 'POST', `notebooks/${encodeURIComponent(info.id)}/sync`, { kind: 'obs', sources, dryRun: true });
            const ok = await showDialog({ title: 'Sync OBS', body: text(planText(sources.length, plan.plan ?? null)), buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Sync' })] });
            if (!ok.button.accept) return null;
            return await runSync(info, { kind: 'obs', sources }, browser);
          } catch (err) {
            await fail('Sync OBS', err);
            return null;
          }
        }
      });
      app.contextMenu.addItem({ command: CommandIDs.obs, selector: '.jp-DirListing-item[data-isdir]', rank: 20 });
      palette?.addItem({ command: CommandIDs.obs, category: 'Instance' });
      return;
    }

    const twoWay = (kind: 'push' | 'pull', label: string, what: string): void => {
      app.commands.addCommand(CommandIDs[kind], {
        label,
        caption: what,
        execute: async () => {
          const ok = await showDialog({ title: label, body: text(`${what} Unchanged files are skipped; nothing is deleted at the destination.`), buttons: [Dialog.cancelButton(), Dialog.okButton({ label: kind === 'push' ? 'Push' : 'Pull' })] });
          if (!ok.button.accept) return null;
          try {
            return await runSync(info, { kind }, browser);
          } catch (err) {
            await fail(label, err);
            return null;
          }
        }
      });
      palette?.addItem({ command: CommandIDs[kind], category: 'Instance' });
    };
    twoWay('push', 'Push ~/work to Object Storage', `Copy ~/work to your storage prefix notebooks/${info.name}/.`);
    twoWay('pull', 'Pull from Object Storage', `Copy your storage prefix notebooks/${info.name}/ into ~/work.`);
  }
};

export default plugin;
