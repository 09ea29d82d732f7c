import { Widget } from '@lumino/widgets';
import type { IGatewayFlavor, IGatewayImage, IGatewayInstance } from '@nbgateway/lab-services';

import { parseParameters, type IJobFormValue } from './request';

export type { IJobFormValue } from './request';

export interface IJobFormOptions {
  notebookPath: string;
  instance: IGatewayInstance;
  images: IGatewayImage[];
  flavors: IGatewayFlavor[];
  initial?: Partial<IJobFormValue>;
}

/** Job names (docs/jobs.md, ModelArts' rule): 1–64 letters, digits, `_`, `-`, starting with a letter. */
const JOB_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const DIR_URL = /^(?:(?:s3|obs):\/\/|\/)[a-z0-9][a-z0-9-]{1,61}[a-z0-9](?:\/.*)?$/;

/** The form: prefilled from the notebook and the instance; says what a job gets. */
export class JobForm extends Widget {
  private readonly _el: Record<string, HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement> = {};

  constructor(private readonly _o: IJobFormOptions) {
    super();
    this.addClass('nbg-JobForm');
    const init = _o.initial ?? {};
    const stem = _o.notebookPath.split('/').pop()!.replace(/\.ipynb$/i, '');
    const cleaned = stem.replace(/[^A-Za-z0-9_-]+/g, '-');
    const defaultName = (/^[A-Za-z]/.test(cleaned) ? cleaned : `job-${cleaned}`).slice(0, 64);
    this._input('name', 'Job name', init.name ?? defaultName, 'Letters, digits, "_" and "-", starting with a letter.');
    this._input('description', 'Description (optional)', init.description ?? '', '');
    const chipsOf = (name: string): string[] => _o.images.find(i => i.name === name)?.chips ?? [];
    const image = this._select('image', 'Image', _o.images.map(i => [i.name, `${i.name}${i.custom ? ' (custom)' : ''}`]), init.image ?? _o.instance.image,
      'Packages you installed in this notebook (pip install…) exist in the job only if it runs an image saved from this notebook: use File › Save as Image… first, then pick that image here.');
    const flavor = this._select('flavor', 'Flavor', [], init.flavor ?? _o.instance.flavor, '');
    const fillFlavors = (): void => {
      const chips = chipsOf(image.value);
      const keep = flavor.value || init.flavor || _o.instance.flavor;
      flavor.replaceChildren(...this._o.flavors.filter(f => chips.length === 0 || chips.includes(f.chip)).map(f => {
        const o = new Option(`${f.id} — ${f.description}${f.granted ? '' : ' (invite-only: ask an administrator)'}`, f.id, false, f.id === keep);
        o.disabled = !f.granted;
        return o;
      }));
    };
    image.addEventListener('change', fillFlavors);
    fillFlavors();
    this._input('nodeCount', 'Nodes', String(init.nodeCount ?? 1), '1 = standalone; more runs a distributed job.', 'number');
    const bootNote = document.createElement('p');
    bootNote.className = 'nbg-JobForm-note';
    bootNote.textContent = `Code: the directory of ${_o.notebookPath} (the notebook is saved and converted to ${stem}.py, the boot file).`;
    this.node.appendChild(bootNote);
    this._textarea('parameters', 'Run parameters (optional)', (init.parameters ?? []).map(p => `${p.name}=${p.value}`).join('\n'), 'One key=value per line; passed as --key=value.');
    this._input('dataUrl', 'Data location (optional)', init.dataUrl ?? '', 'e.g. s3://bucket/datasets/mnist/');
    this._input('outputUrl', 'Output location', init.outputUrl ?? '', 'e.g. s3://bucket/jobs/output/; each version writes under V000n/.');
  }

  getValue(): IJobFormValue {
    return {
      name: this._el.name!.value.trim(),
      description: this._el.description!.value.trim(),
      image: this._el.image!.value,
      flavor: this._el.flavor!.value,
      nodeCount: Number(this._el.nodeCount!.value),
      parameters: parseParameters(this._el.parameters!.value),
      dataUrl: this._el.dataUrl!.value.trim(),
      outputUrl: this._el.outputUrl!.value.trim()
    };
  }

  /** @returns what is wrong with the form, or null. */
  problem(v: IJobFormValue): string | null {
    if (!JOB_NAME.test(v.name)) return `Job name "${v.name}" is not allowed: 1–64 letters, digits, "_" and "-", starting with a letter.`;
    if (!Number.isInteger(v.nodeCount) || v.nodeCount < 1) return 'Nodes must be a whole number of at least 1.';
    const bad = v.parameters.find(p => !/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(p.name));
    if (bad) return `Parameter "${bad.name}" is not a valid name (letters, digits, "_", "." and "-").`;
    if (!DIR_URL.test(v.outputUrl)) return 'Output location must be an object-storage directory such as s3://bucket/jobs/output/.';
    if (v.dataUrl && !DIR_URL.test(v.dataUrl)) return 'Data location must be an object-storage directory such as s3://bucket/data/.';
    return null;
  }

  private _wrap(label: string, control: HTMLElement, hint: string): void {
    const l = document.createElement('label');
    const span = document.createElement('span');
    span.className = 'nbg-JobForm-hint';
    span.textContent = hint;
    l.append(label, control, span);
    this.node.appendChild(l);
  }

  private _input(key: string, label: string, value: string, hint: string, type = 'text'): HTMLInputElement {
    const i = document.createElement('input');
    i.className = 'jp-mod-styled';
    i.name = `nbg-job-${key}`;
    i.type = type;
    i.value = value;
    this._el[key] = i;
    this._wrap(label, i, hint);
    return i;
  }

  private _select(key: string, label: string, options: [string, string][], value: string, hint: string): HTMLSelectElement {
    const s = document.createElement('select');
    s.className = 'jp-mod-styled';
    s.name = `nbg-job-${key}`;
    for (const [v, t] of options) s.appendChild(new Option(t, v, false, v === value));
    this._el[key] = s;
    this._wrap(label, s, hint);
    return s;
  }

  private _textarea(key: string, label: string, value: string, hint: string): HTMLTextAreaElement {
    const t = document.createElement('textarea');
    t.className = 'jp-mod-styled';
    t.name = `nbg-job-${key}`;
    t.rows = 3;
    t.value = value;
    this._el[key] = t;
    this._wrap(label, t, hint);
    return t;
  }
}
