/**
 * Sync OBS (SPEC §4, S1 §4.1.3.3): on an `obs`-storage instance, the file browser shows the
 * object-storage path; selected files and folders are copied into `~/work` by the agent
 * (`POST <base>api/nbg/sync/pull`). The limits are shown before anything is copied: at most
 * 1024 files per sync, and `~/work` at most 500 MB after it. Over a limit the agent refuses
 * before any copy, with the numbers, and the dialog shows that message.
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Dialog, Notification, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { Widget } from '@lumino/widgets';
import { agentRequest, GatewayError, instanceInfo } from '@nbgateway/lab-services';
import { DEFAULT_LIMITS, limitsText, mb, type ISyncLimits, type ISyncResult } from './limits';

export * from './limits';

export const CommandIDs = { pull: 'nbg:sync-obs-pull' } as const;

const plugin: JupyterFrontEndPlugin<void> = {
  id: '@nbgateway/sync-extension:plugin',
  description: 'Sync OBS: copy selected objects into ~/work, within the limits.',
  autoStart: true,
  requires: [IDefaultFileBrowser],
  activate: (app: JupyterFrontEnd, browser: IDefaultFileBrowser) => {
    const info = instanceInfo();
    if (!info || info.storageType !== 'obs') return;
    app.commands.addCommand(CommandIDs.pull, {
      label: 'Sync to ~/work',
      caption: 'Copy the selected objects from object storage into ~/work',
      isEnabled: () => !browser.selectedItems().next().done,
      execute: async () => {
        const paths = Array.from(browser.selectedItems(), i => i.path);
        if (paths.length === 0) return null;
        let limits = DEFAULT_LIMITS;
        try {
          limits = (await agentRequest<ISyncLimits>('GET', 'sync/limits')).body;
        } catch (err) {
          if (!(err instanceof GatewayError && err.isMissingRoute)) throw err;
        }
        const body = new Widget();
        body.node.textContent = limitsText(paths, limits);
        const ok = await showDialog({ title: 'Sync OBS', body, buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Sync' })] });
        if (!ok.button.accept) return null;
        try {
          const r = (await agentRequest<ISyncResult>('POST', 'sync/pull', { paths })).body;
          Notification.success(`Synced ${r.files} file${r.files === 1 ? '' : 's'} (${mb(r.bytes)}) into ~/work${r.skipped ? `; ${r.skipped} unchanged skipped` : ''}`, { autoClose: 6000 });
          return r;
        } catch (err) {
          await showErrorMessage('Sync OBS', err instanceof GatewayError && err.isMissingRoute ? 'Sync is not available on this instance yet.' : (err as Error).message);
          return null;
        }
      }
    });
    app.contextMenu.addItem({ command: CommandIDs.pull, selector: '.jp-DirListing-item[data-isdir]', rank: 20 });
  }
};

export default plugin;
