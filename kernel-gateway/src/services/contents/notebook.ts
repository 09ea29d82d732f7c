/**
 * nbformat v4 on disk and on the wire, as the `nbformat` Python package reads and writes it:
 * multi-line strings are joined on read and split into lines on write (line-based diffs),
 * keys are sorted, indent is 1, the file ends with a newline. Shared by every provider.
 *
 * #### Notes
 * Validation follows nbformat's v4 schema for the structure clients rely on. Like
 * jupyter_server, a notebook that breaks the schema in its details is still saved and the
 * model carries a `message`; only something that is not a v4 notebook at all is refused
 * (400), so a save never loses work over an odd output.
 */
import { randomBytes } from 'node:crypto';
import { JupyterError } from '../../errors';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

/** The current minor version new notebooks get (nbformat 5.x). */
export const NBFORMAT_MINOR = 5;

/** A new empty notebook, as `nbformat.v4.new_notebook()`. */
export function newNotebook(): Obj {
  return { cells: [], metadata: {}, nbformat: 4, nbformat_minor: NBFORMAT_MINOR };
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isMultiline = (v: unknown): boolean => typeof v === 'string' || (Array.isArray(v) && v.every(l => typeof l === 'string'));

/**
 * Checks that `content` is a v4 notebook at all.
 * @throws 400 naming what is wrong when it is not.
 */
export function assertNotebook(content: unknown, where: string): asserts content is Obj {
  if (!isObj(content)) throw new JupyterError(400, `${where}: notebook content must be a JSON object`);
  if (content.nbformat !== 4) {
    throw new JupyterError(
      400,
      `${where}: only nbformat 4 notebooks are supported (got nbformat ${JSON.stringify(content.nbformat ?? null)}); ` +
        'upgrade it with "jupyter nbconvert --to notebook --nbformat 4"'
    );
  }
  if (!Array.isArray(content.cells)) throw new JupyterError(400, `${where}: notebook "cells" must be an array`);
  if (!isObj(content.metadata)) throw new JupyterError(400, `${where}: notebook "metadata" must be an object`);
}

/**
 * Schema problems below the top level, as one message, or null when the notebook is valid.
 */
export function validateNotebook(nb: Obj): string | null {
  const errors: string[] = [];
  if (!Number.isInteger(nb.nbformat_minor) || (nb.nbformat_minor as number) < 0) errors.push('"nbformat_minor" must be a non-negative integer');
  const minor = Number(nb.nbformat_minor);
  const ids = new Set<string>();
  (nb.cells as Json[]).forEach((cell, i) => {
    const at = `cells[${i}]`;
    if (!isObj(cell)) return void errors.push(`${at} must be an object`);
    if (!['code', 'markdown', 'raw'].includes(cell.cell_type as string)) errors.push(`${at}.cell_type must be "code", "markdown" or "raw"`);
    if (!isObj(cell.metadata)) errors.push(`${at}.metadata must be an object`);
    if (!isMultiline(cell.source)) errors.push(`${at}.source must be a string or a list of strings`);
    if (minor >= 5) {
      if (typeof cell.id !== 'string' || !/^[a-zA-Z0-9-_]{1,64}$/.test(cell.id)) errors.push(`${at}.id must be 1-64 letters, digits, "-" or "_"`);
      else if (ids.has(cell.id)) errors.push(`${at}.id "${cell.id}" is not unique`);
      else ids.add(cell.id);
    }
    if (cell.cell_type === 'code') {
      if (!(cell.execution_count === null || Number.isInteger(cell.execution_count))) errors.push(`${at}.execution_count must be an integer or null`);
      if (!Array.isArray(cell.outputs)) errors.push(`${at}.outputs must be an array`);
      else cell.outputs.forEach((o, j) => validateOutput(o, `${at}.outputs[${j}]`, errors));
    } else if (cell.attachments !== undefined && !isObj(cell.attachments)) {
      errors.push(`${at}.attachments must be an object`);
    }
  });
  return errors.length ? `Notebook validation failed: ${errors.slice(0, 10).join('; ')}${errors.length > 10 ? ` (and ${errors.length - 10} more)` : ''}` : null;
}

function validateOutput(o: Json, at: string, errors: string[]): void {
  if (!isObj(o)) return void errors.push(`${at} must be an object`);
  switch (o.output_type) {
    case 'execute_result':
      if (!(o.execution_count === null || Number.isInteger(o.execution_count))) errors.push(`${at}.execution_count must be an integer or null`);
      validateDisplay(o, at, errors);
      break;
    case 'display_data':
      validateDisplay(o, at, errors);
      break;
    case 'stream':
      if (o.name !== 'stdout' && o.name !== 'stderr') errors.push(`${at}.name must be "stdout" or "stderr"`);
      if (!isMultiline(o.text)) errors.push(`${at}.text must be a string or a list of strings`);
      break;
    case 'error':
      if (typeof o.ename !== 'string' || typeof o.evalue !== 'string') errors.push(`${at}.ename and .evalue must be strings`);
      if (!Array.isArray(o.traceback)) errors.push(`${at}.traceback must be a list of strings`);
      break;
    default:
      errors.push(`${at}.output_type must be execute_result, display_data, stream or error`);
  }
}

function validateDisplay(o: Obj, at: string, errors: string[]): void {
  if (!isObj(o.data)) errors.push(`${at}.data must be an object`);
  if (!isObj(o.metadata)) errors.push(`${at}.metadata must be an object`);
}

const isJsonMime = (mime: string): boolean => mime === 'application/json' || (mime.startsWith('application/') && mime.endsWith('+json'));
const SPLIT_NON_TEXT = new Set(['application/javascript', 'image/svg+xml']);

function eachBundle(nb: Obj, fn: (bundle: Obj) => void, fnText: (holder: Obj, key: string) => void): void {
  for (const cell of nb.cells as Json[]) {
    if (!isObj(cell)) continue;
    fnText(cell, 'source');
    if (isObj(cell.attachments)) for (const a of Object.values(cell.attachments)) if (isObj(a)) fn(a);
    if (cell.cell_type !== 'code' || !Array.isArray(cell.outputs)) continue;
    for (const o of cell.outputs) {
      if (!isObj(o)) continue;
      if ((o.output_type === 'execute_result' || o.output_type === 'display_data') && isObj(o.data)) fn(o.data);
      else if (o.output_type === 'stream') fnText(o, 'text');
    }
  }
}

/** Joins line lists into strings, as clients expect (nbformat `rejoin_lines`). In place. */
export function rejoinLines(nb: Obj): Obj {
  const join = (holder: Obj, key: string): void => {
    const v = holder[key];
    if (Array.isArray(v) && v.every(l => typeof l === 'string')) holder[key] = v.join('');
  };
  eachBundle(nb, bundle => {
    for (const key of Object.keys(bundle)) if (!isJsonMime(key)) join(bundle, key);
  }, join);
  return nb;
}

/** Splits text into lines that keep their ends (Python `splitlines(True)` for \n, \r\n, \r). */
export function splitLinesKeepEnds(s: string): string[] {
  return s.match(/[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$/g) ?? [];
}

/** Splits multi-line strings into lines for the file (nbformat `split_lines`). In place. */
export function splitLines(nb: Obj): Obj {
  const split = (holder: Obj, key: string): void => {
    const v = holder[key];
    if (typeof v === 'string') holder[key] = splitLinesKeepEnds(v);
  };
  eachBundle(nb, bundle => {
    for (const key of Object.keys(bundle)) if (key.startsWith('text/') || SPLIT_NON_TEXT.has(key)) split(bundle, key);
  }, split);
  return nb;
}

/** Removes what must not be stored (nbformat `strip_transient`). In place. */
function stripTransient(nb: Obj): void {
  const md = nb.metadata as Obj;
  delete md.orig_nbformat;
  delete md.orig_nbformat_minor;
  delete md.signature;
  for (const cell of nb.cells as Json[]) if (isObj(cell) && isObj(cell.metadata)) delete cell.metadata.trusted;
}

/** Gives cells without an id one, as nbformat does for minor ≥ 5 notebooks. In place. */
function addMissingIds(nb: Obj): void {
  if (Number(nb.nbformat_minor) < 5) return;
  for (const cell of nb.cells as Json[]) {
    if (isObj(cell) && (typeof cell.id !== 'string' || cell.id === '')) cell.id = randomBytes(4).toString('hex');
  }
}

/**
 * Parses a notebook file for the wire.
 * @returns the content (lines joined) and a validation message, if any.
 * @throws 400 when the file is not JSON or not a v4 notebook.
 */
export function readNotebook(text: string, apiPath: string): { content: Obj; message: string | null } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new JupyterError(400, `Unreadable Notebook: ${apiPath} is not valid JSON (${(err as Error).message})`);
  }
  assertNotebook(parsed, `Unreadable Notebook: ${apiPath}`);
  stripTransient(parsed);
  rejoinLines(parsed);
  return { content: parsed, message: validateNotebook(parsed) };
}

/**
 * Serialises a notebook from the wire for the file: lines split, keys sorted, indent 1,
 * final newline, as `nbformat.write`.
 * @returns the text and a validation message, if any.
 * @throws 400 when the content is not a v4 notebook.
 */
export function writeNotebook(content: unknown, apiPath: string): { text: string; message: string | null } {
  assertNotebook(content, `Cannot save ${apiPath}`);
  const nb = structuredClone(content);
  stripTransient(nb);
  addMissingIds(nb);
  const message = validateNotebook(nb);
  splitLines(nb);
  return { text: JSON.stringify(sortKeys(nb), null, 1) + '\n', message };
}

function sortKeys(v: Json): Json {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (!isObj(v)) return v;
  const out: Obj = {};
  for (const k of Object.keys(v).sort()) out[k] = sortKeys(v[k]!);
  return out;
}
