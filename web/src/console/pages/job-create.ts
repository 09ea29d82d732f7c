/**
 * Create a training job from code in object storage (SPEC §8): name, image, flavor, nodes,
 * code directory and boot file, run parameters, data and output locations. Jobs from a
 * notebook are submitted in JupyterLab (File › Submit as Training Job…).
 */
import { h, mount } from '../dom';
import type { AppContext, PageView } from '../context';
import type { CreateJobRequest } from '../api/wire';
import { errorText, field, notice } from '../components/ui';
import { flavorsForImage } from '../logic/catalogue';
import { parseParameters } from '../../../../extensions/training-job-extension/src/request';

/** docs/jobs.md: 1–64 letters, digits, `_`, `-`, starting with a letter. */
const JOB_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
/** `s3://bucket/dir/`, `obs://bucket/dir/` or `/bucket/dir/`. */
const DIR_URL = /^(?:(?:s3|obs):\/\/|\/)[a-z0-9][a-z0-9-]{1,61}[a-z0-9](?:\/.*)?$/;

export async function jobCreatePage(ctx: AppContext): Promise<PageView> {
  const [images, flavors] = await Promise.all([ctx.api.images().then(r => r.items), ctx.api.flavors().then(r => r.items)]);
  const input = (name: string, placeholder = ''): HTMLInputElement => h('input', { name, autocomplete: 'off', spellcheck: 'false', placeholder });
  const name = input('name');
  const image = h('select', { name: 'image' }, images.map(i => h('option', { value: i.name }, `${i.name}${i.custom ? ' (custom)' : ''}`)));
  const flavor = h('select', { name: 'flavor' });
  const nodes = h('input', { type: 'number', name: 'nodeCount', min: 1, max: 16, step: 1, value: '1' });
  const codeUrl = input('codeUrl', 's3://bucket/code/');
  const bootFile = input('bootFile', 'train.py');
  const params = h('textarea', { name: 'parameters', rows: 3, placeholder: 'lr=0.01\nepochs=10' });
  const dataUrl = input('dataUrl', 's3://bucket/data/');
  const outputUrl = input('outputUrl', 's3://bucket/output/');
  const f = {
    name: field('job-name', 'Name', name, '1–64 letters, digits, "_" and "-", starting with a letter.'),
    image: field('job-image', 'Image', image, 'Packages installed in a notebook exist in the job only with an image saved from that notebook.'),
    flavor: field('job-flavor', 'Flavor', flavor, 'Only flavors whose chip the image supports.'),
    nodes: field('job-nodes', 'Nodes', nodes, '1 = standalone; more runs a distributed job (one task per node).'),
    codeUrl: field('job-code', 'Code directory', codeUrl, 'Downloaded to /home/work/user-job-dir/<last directory>/ in each task.'),
    bootFile: field('job-boot', 'Boot file', bootFile, 'Relative to the code directory: a .py (run with python3) or .sh.'),
    params: field('job-params', 'Run parameters (optional)', params, 'One key=value per line; passed as --key=value.'),
    dataUrl: field('job-data', 'Data location (optional)', dataUrl, ''),
    outputUrl: field('job-output', 'Output location', outputUrl, 'Each version writes to <output>/V000n/.')
  };
  const fillFlavors = (): void => {
    const img = images.find(i => i.name === image.value);
    mount(flavor, (img ? flavorsForImage(flavors, img) : flavors).map(x => h('option', { value: x.id, disabled: !x.granted }, `${x.id} — ${x.description}`)));
  };
  image.addEventListener('change', fillFlavors);
  fillFlavors();
  const status = h('div', { class: 'form-status' });
  const form = h('form', { class: 'card form', novalidate: true, 'aria-labelledby': 'job-create-title' },
    h('h1', { id: 'job-create-title' }, 'Create a training job'),
    ...Object.values(f).map(x => x.el),
    status,
    h('div', { class: 'actions' }, h('a', { class: 'btn', href: '#/jobs' }, 'Cancel'), h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create')));
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    const parameters = parseParameters(params.value);
    const problems: [keyof typeof f, string | null][] = [
      ['name', JOB_NAME.test(name.value) ? null : 'Use 1–64 letters, digits, "_" and "-", starting with a letter.'],
      ['nodes', Number.isInteger(Number(nodes.value)) && Number(nodes.value) >= 1 ? null : 'A whole number, at least 1.'],
      ['codeUrl', DIR_URL.test(codeUrl.value.trim()) ? null : 'An object-storage directory such as s3://bucket/code/.'],
      ['bootFile', bootFile.value.trim() ? null : 'The script to run, e.g. train.py.'],
      ['params', parameters.find(p => !/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(p.name)) ? 'Names are letters, digits, "_", "." and "-".' : null],
      ['dataUrl', !dataUrl.value.trim() || DIR_URL.test(dataUrl.value.trim()) ? null : 'An object-storage directory, or empty.'],
      ['outputUrl', DIR_URL.test(outputUrl.value.trim()) ? null : 'An object-storage directory such as s3://bucket/output/.']
    ];
    for (const [k, p] of problems) f[k].setError(p);
    if (problems.some(([, p]) => p)) {
      form.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
      return;
    }
    const body: CreateJobRequest = {
      name: name.value, image: image.value, flavor: flavor.value, nodeCount: Number(nodes.value),
      codeUrl: codeUrl.value.trim(), bootFile: bootFile.value.trim(), outputUrl: outputUrl.value.trim()
    };
    if (parameters.length) body.parameters = parameters;
    if (dataUrl.value.trim()) body.dataUrl = dataUrl.value.trim();
    try {
      const job = await ctx.api.createJob(body);
      ctx.navigate(`#/jobs/${encodeURIComponent(job.id)}`);
    } catch (err) {
      status.replaceChildren(notice('error', errorText(err)));
    }
  });
  return { el: h('main', { id: 'main', class: 'page' }, form), title: 'Create training job' };
}
