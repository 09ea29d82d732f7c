import { Widget } from '@lumino/widgets';

/** What the user chose in the dialog. */
export interface IConvertOptions {
  name: string;
  force: boolean;
}

/** The dialog body: file name, and the overwrite box (unchecked by default). */
export class ConvertDialogBody extends Widget {
  private readonly _name: HTMLInputElement;
  private readonly _force: HTMLInputElement;

  constructor(defaultName: string, dirty: boolean) {
    super();
    this.addClass('nbg-ConvertDialog');
    const label = document.createElement('label');
    label.textContent = 'File name';
    this._name = document.createElement('input');
    this._name.name = 'nbg-convert-name';
    this._name.value = defaultName;
    this._name.className = 'jp-mod-styled';
    this._name.setAttribute('aria-describedby', 'nbg-convert-hint');
    label.appendChild(this._name);
    const hint = document.createElement('p');
    hint.id = 'nbg-convert-hint';
    hint.className = 'nbg-ConvertDialog-hint';
    hint.textContent = dirty
      ? 'The notebook has unsaved changes: it is saved first. The .py goes next to the notebook.'
      : 'The .py goes next to the notebook.';
    const force = document.createElement('label');
    force.className = 'nbg-ConvertDialog-force';
    this._force = document.createElement('input');
    this._force.type = 'checkbox';
    this._force.name = 'nbg-convert-force';
    this._force.checked = false;
    force.append(this._force, ' Force overwrite if file already exists.');
    this.node.append(label, force, hint);
  }

  getValue(): IConvertOptions {
    return { name: this._name.value.trim(), force: this._force.checked };
  }
}
