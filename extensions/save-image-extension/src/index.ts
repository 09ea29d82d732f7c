/**
 * Save as image (SPEC §5): the running instance's filesystem (minus `~/work`) becomes a custom
 * image `<name>:<tag>` in the catalogue. The gateway streams progress while it pauses the
 * instance, captures it and checks size and setuid files; this plug-in shows that progress.
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Dialog, ICommandPalette, Notification, showDialog } from '@jupyterlab/apputils';
import { IMainMenu } from '@jupyterlab/mainmenu';
import { Widget } from '@lumino/widgets';
import { GatewayError, instanceInfo, readCookie, readEventStream, type IInstanceInfo } from '@nbgateway/lab-services';
import { URLExt } from '@jupyterlab/coreutils';

export const CommandIDs = { save: 'nbg:save-as-image' } as const;

/** `<name>:<tag>` rules of custom images: lower-case Docker repository and tag syntax. */
const NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

interface ISaveForm {
  name: string;
  tag: string;
  description: string;
}

class SaveImageBody extends Widget {
  private readonly _inputs: Record<keyof ISaveForm, HTMLInputElement>;

  constructor(info: IInstanceInfo) {
    super();
    this.addClass('nbg-SaveImage');
    const make = (key: keyof ISaveForm, label: string, value: string, hint: string): HTMLInputElement => {
      const l = document.createElement('label');
      const input = document.createElement('input');
      input.className = 'jp-mod-styled';
      input.name = `nbg-image-${key}`;
      input.value = value;
      const h = document.createElement('span');
      h.className = 'nbg-SaveImage-hint';
      h.textContent = hint;
      l.append(label, input, h);
      this.node.appendChild(l);
      return input;
    };
    const base = info.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'image';
    this._inputs = {
      name: make('name', 'Image name', base, 'Lower-case letters, digits, ".", "_" and "-".'),
      tag: make('tag', 'Tag', 'v1', 'e.g. v1; name:tag must be new.'),
      description: make('description', 'Description (optional)', '', '')
    };
    const note = document.createElement('p');
    note.className = 'nbg-SaveImage-note';
    note.textContent = 'Installed packages (pip, apt in your home) are kept; ~/work is not part of the image. The instance pauses while it is captured (at most 9.5 GB), then runs on.';
    this.node.appendChild(note);
  }

  getValue(): ISaveForm {
    return { name: this._inputs.name.value.trim(), tag: this._inputs.tag.value.trim(), description: this._inputs.description.value.trim() };
  }
}

function problem(f: ISaveForm): string | null {
  if (!NAME.test(f.name)) return `Image name "${f.name}" is not allowed: lower-case letters and digits, separated by ".", "_" or "-".`;
  if (!TAG.test(f.tag)) return `Tag "${f.tag}" is not allowed: letters, digits, "_", "." and "-", up to 128 characters.`;
  return null;
}

/**
 * Saves the instance as an image, updating a notification with the streamed progress.
 * @returns the new image's `name:tag`.
 */
export async function saveAsImage(info: IInstanceInfo, form: ISaveForm, onProgress: (message: string, progress?: number) => void): Promise<string> {
  const headers: Record<string, string> = { Accept: 'text/event-stream', 'Content-Type': 'application/json' };
  const xsrf = readCookie('_xsrf');
  if (xsrf) headers['X-XSRFToken'] = xsrf;
  const res = await fetch(URLExt.join(info.apiUrl, 'notebooks', encodeURIComponent(info.id), 'images'), {
    method: 'POST', credentials: 'same-origin', headers, body: JSON.stringify({ name: form.name, tag: form.tag, description: form.description || undefined })
  });
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
    throw new GatewayError(res.status, body.code ?? '', body.message ?? `${res.status} ${res.statusText}`);
  }
  let image: string | null = null;
  let failure: GatewayError | null = null;
  await readEventStream(res, (event, data) => {
    const d = data as { message?: string; step?: string; progress?: number; name?: string; code?: string; status?: number };
    if (event === 'progress') onProgress(d.message ?? d.step ?? 'Saving…', d.progress);
    else if (event === 'result') image = d.name ?? `${form.name}:${form.tag}`;
    else if (event === 'error') failure = new GatewayError(d.status ?? 500, d.code ?? '', d.message ?? 'save failed');
  });
  if (failure) throw failure;
  if (!image) throw new GatewayError(502, '', 'The gateway ended the save without a result');
  return image;
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: '@nbgateway/save-image-extension:plugin',
  description: 'Save the running instance as a custom image.',
  autoStart: true,
  optional: [IMainMenu, ICommandPalette],
  activate: (app: JupyterFrontEnd, menu: IMainMenu | null, palette: ICommandPalette | null) => {
    const info = instanceInfo();
    if (!info) return;
    app.commands.addCommand(CommandIDs.save, {
      label: 'Save as Image…',
      caption: 'Save this instance (without ~/work) as a custom image',
      execute: async () => {
        let form: ISaveForm | null = null;
        for (;;) {
          const r = await showDialog({ title: 'Save as image', body: new SaveImageBody(info), buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Save' })] });
          if (!r.button.accept || !r.value) return;
          const p = problem(r.value);
          if (!p) {
            form = r.value;
            break;
          }
          await showDialog({ title: 'Save as image', body: p, buttons: [Dialog.okButton()] });
        }
        const id = Notification.emit(`Saving ${form.name}:${form.tag}…`, 'in-progress', { autoClose: false });
        try {
          const image = await saveAsImage(info, form, (message, progress) =>
            Notification.update({ id, message: progress !== undefined ? `${message} (${Math.round(progress)}%)` : message, type: 'in-progress', autoClose: false }));
          Notification.update({ id, message: `Saved as ${image}. Use it for new instances and training jobs.`, type: 'success', autoClose: 8000 });
        } catch (err) {
          Notification.update({ id, message: `Save as image failed: ${(err as Error).message}`, type: 'error', autoClose: false });
        }
      }
    });
    menu?.fileMenu.addGroup([{ command: CommandIDs.save }], 61);
    palette?.addItem({ command: CommandIDs.save, category: 'Instance' });
  }
};

export default plugin;
