/**
 * Convert to Python File (SPEC §4, S1 §4.1.3.2): a dialog asks for the file name and offers
 * "Force overwrite if file already exists." (unchecked by default); the instance's agent
 * writes the `.py` next to the notebook (`POST <base>api/nbg/convert`).
 *
 * #### Notes
 * - The notebook must be saved first: an unsaved notebook is saved by the dialog's
 *   "Save and convert" button, never converted from stale bytes (the agent also checks
 *   `last_modified`).
 * - Without the box ticked an existing file is never overwritten; the agent's refusal is
 *   shown as is ("… already exists; choose another name, or set force").
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Dialog, ICommandPalette, Notification, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { IMainMenu } from '@jupyterlab/mainmenu';
import { INotebookTracker, type NotebookPanel } from '@jupyterlab/notebook';
import { agentRequest, GatewayError } from '@nbgateway/lab-services';
import { ConvertDialogBody, type IConvertOptions } from './dialog';

/** Command ids of this plug-in. */
export const CommandIDs = { convert: 'nbg:convert-to-python' } as const;

/** What the agent answers: the new file's contents model plus notes. */
export interface IConvertResult {
  path: string;
  name: string;
  overwritten: boolean;
  notes?: string[];
}

/**
 * Converts a notebook through the agent.
 * @throws GatewayError with the agent's message (exists, not saved, not a notebook).
 */
export async function convertNotebook(path: string, opts: IConvertOptions, lastModified?: string): Promise<IConvertResult> {
  const body: Record<string, unknown> = { path, name: opts.name, force: opts.force };
  if (lastModified) body.last_modified = lastModified;
  return (await agentRequest<IConvertResult>('POST', 'convert', body)).body;
}

/** The agent's refusal in the dialog's words (it speaks API: "set force"). */
function explain(err: unknown, name: string): string {
  if (!(err instanceof GatewayError)) return String(err);
  if (err.status === 409 && /already exists/.test(err.message)) {
    return `${name} already exists next to the notebook. Choose another name, or tick "Force overwrite if file already exists."`;
  }
  return err.message;
}

async function run(app: JupyterFrontEnd, panel: NotebookPanel): Promise<IConvertResult | null> {
  const ctx = panel.context;
  let name = ctx.path.split('/').pop()!.replace(/\.ipynb$/i, '') + '.py';
  for (;;) {
    const body = new ConvertDialogBody(name, ctx.model.dirty);
    const result = await showDialog({
      title: 'Convert to Python File',
      body,
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: ctx.model.dirty ? 'Save and convert' : 'Convert' })],
      focusNodeSelector: 'input[name="nbg-convert-name"]'
    });
    if (!result.button.accept || !result.value) return null;
    name = result.value.name;
    if (ctx.model.dirty) await ctx.save();
    try {
      const res = await convertNotebook(ctx.path, result.value, ctx.contentsModel?.last_modified);
      Notification.success(`${res.overwritten ? 'Overwrote' : 'Created'} ${res.path}`, { autoClose: 5000 });
      void app.commands.execute('filebrowser:go-to-path', { path: res.path, dontShowBrowser: true }).catch(() => undefined);
      return res;
    } catch (err) {
      await showErrorMessage('Cannot convert to a Python file', explain(err, name));
      if (!(err instanceof GatewayError) || err.status !== 409) return null;
      // An existing file or unsaved changes: let the user choose another name or force.
    }
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: '@nbgateway/convert-extension:plugin',
  description: 'Convert to Python File: a notebook becomes a .py for training jobs.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [IMainMenu, ICommandPalette],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker, menu: IMainMenu | null, palette: ICommandPalette | null) => {
    app.commands.addCommand(CommandIDs.convert, {
      label: 'Convert to Python File',
      caption: 'Write this notebook as a .py next to it (for training jobs)',
      isEnabled: () => tracker.currentWidget !== null,
      execute: async () => {
        const panel = tracker.currentWidget;
        if (panel) return run(app, panel);
        return null;
      }
    });
    menu?.fileMenu.addGroup([{ command: CommandIDs.convert }], 60);
    palette?.addItem({ command: CommandIDs.convert, category: 'Notebook Operations' });
    app.contextMenu.addItem({ command: CommandIDs.convert, selector: '.jp-Notebook', rank: 60 });
  }
};

export default plugin;
