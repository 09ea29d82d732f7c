/**
 * Submit as training job (SPEC §8): a form prefilled from the current notebook (name, the
 * instance's image and flavor, one node), which the gateway turns into a job: the notebook's
 * directory becomes the code directory and its converted `.py` the boot file.
 *
 * #### Notes
 * Packages installed in the notebook exist in the job only when the job runs an image saved
 * from this notebook: the form says so next to the image choice (SPEC §8, S1 §4.1.3.6).
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Dialog, ICommandPalette, Notification, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { IMainMenu } from '@jupyterlab/mainmenu';
import { INotebookTracker } from '@jupyterlab/notebook';
import { gatewayRequest, GatewayError, instanceInfo, type IGatewayFlavor, type IGatewayImage, type IGatewayInstance } from '@nbgateway/lab-services';
import { JobForm, type IJobFormValue } from './form';
import { jobRequest } from './request';

export { jobRequest, parseParameters } from './request';

export const CommandIDs = { submit: 'nbg:submit-training-job' } as const;

/** Remembers the last output location, so the next form starts from it. */
const OUTPUT_KEY = 'nbg:training-job:outputUrl';

export interface ISubmittedJob {
  id: string;
  name: string;
  latestVersion: string;
  /** What the gateway wants the user to know (e.g. about packages and saved images). */
  notices?: string[];
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: '@nbgateway/training-job-extension:plugin',
  description: 'Submit the current notebook as a training job.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [IMainMenu, ICommandPalette],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker, menu: IMainMenu | null, palette: ICommandPalette | null) => {
    const info = instanceInfo();
    if (!info) return;
    app.commands.addCommand(CommandIDs.submit, {
      label: 'Submit as Training Job…',
      caption: 'Run this notebook (as a .py) as a training job',
      isEnabled: () => tracker.currentWidget !== null,
      execute: async () => {
        const panel = tracker.currentWidget;
        if (!panel) return null;
        let inst: IGatewayInstance, images: IGatewayImage[], flavors: IGatewayFlavor[];
        try {
          [inst, images, flavors] = await Promise.all([
            gatewayRequest<IGatewayInstance>(info.apiUrl, 'GET', `notebooks/${encodeURIComponent(info.id)}`),
            gatewayRequest<{ items: IGatewayImage[] }>(info.apiUrl, 'GET', 'images').then(r => r.items),
            gatewayRequest<{ items: IGatewayFlavor[] }>(info.apiUrl, 'GET', 'flavors').then(r => r.items)
          ]);
        } catch (err) {
          await showErrorMessage('Submit as training job', (err as Error).message);
          return null;
        }
        const path = panel.context.path;
        let initial: Partial<IJobFormValue> = { outputUrl: localStorage.getItem(OUTPUT_KEY) ?? '' };
        for (;;) {
          const form = new JobForm({ notebookPath: path, instance: inst, images, flavors, initial });
          const r = await showDialog({ title: 'Submit as training job', body: form, buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Submit' })], focusNodeSelector: 'input[name="nbg-job-name"]' });
          if (!r.button.accept || !r.value) return null;
          initial = r.value;
          const problem = form.problem(r.value);
          if (problem) {
            await showErrorMessage('Submit as training job', problem);
            continue;
          }
          if (panel.context.model.dirty) await panel.context.save();
          try {
            const job = await gatewayRequest<ISubmittedJob>(info.apiUrl, 'POST', 'jobs', jobRequest(r.value, info.id, path));
            localStorage.setItem(OUTPUT_KEY, r.value.outputUrl);
            Notification.success(`Training job ${job.name} submitted (${job.latestVersion})${job.notices?.length ? `. ${job.notices.join(' ')}` : ''}`, {
              autoClose: 10000,
              actions: [{ label: 'Open in console', callback: () => window.open(`${info.consoleUrl}#/jobs/${encodeURIComponent(job.id)}`, '_blank', 'noopener') }]
            });
            return job;
          } catch (err) {
            const missing = err instanceof GatewayError && err.isMissingRoute;
            await showErrorMessage('Submit as training job', missing ? 'Training jobs are not available on this gateway yet.' : (err as Error).message);
            if (missing || !(err instanceof GatewayError) || err.status >= 500) return null;
          }
        }
      }
    });
    menu?.fileMenu.addGroup([{ command: CommandIDs.submit }], 62);
    palette?.addItem({ command: CommandIDs.submit, category: 'Notebook Operations' });
    app.contextMenu.addItem({ command: CommandIDs.submit, selector: '.jp-Notebook', rank: 61 });
  }
};

export default plugin;
