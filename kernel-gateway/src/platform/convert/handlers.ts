/**
 * `POST <base>api/nbg/convert`: Convert to Python File (SPEC §4), for the JupyterLab plug-in,
 * the gateway's REST API and the CLI.
 *
 * Body: `{ path: "dir/nb.ipynb", name?: "nb.py", force?: false, last_modified?: ISO }`.
 * Answers 201 with the new file's model (200 when an existing file was overwritten with
 * `force`), plus `overwritten` and the conversion `notes`.
 *
 * #### Notes
 * - The notebook must be saved: it must exist, and when the caller sends the `last_modified`
 *   of the copy it has open, the file on disk must be that one (else 409 "save it first").
 * - An existing `.py` is never overwritten without `force`.
 * - It goes through the contents provider, so it works the same on `~/work` and on OBS.
 */
import type { RouteTables } from '../../http/server';
import { asObject, readJson, sendJson } from '../../http/respond';
import { JupyterError, badRequest } from '../../errors';
import type { IContentsProvider } from '../../services/contents/provider';
import { apiDirname, normaliseApiPath } from '../../services/contents/paths';
import { notebookToPython, type NotebookLike } from './notebook-to-python';

const BODY_LIMIT = 64 << 10;

/** The output name: given (with `.py` added when missing) or `<notebook>.py`. */
export function outputName(notebookPath: string, requested: unknown): string {
  if (requested === undefined || requested === null || requested === '') {
    return notebookPath.split('/').pop()!.replace(/\.ipynb$/i, '') + '.py';
  }
  if (typeof requested !== 'string') throw badRequest('"name" must be a file name such as "train.py"');
  const name = requested.trim().endsWith('.py') ? requested.trim() : `${requested.trim()}.py`;
  if (name.includes('/') || name.includes('\\') || name.includes('\0') || name === '.py' || name.startsWith('.') || name.length > 255) {
    throw badRequest(`"name" must be a plain file name without "/" (e.g. "train.py"), got ${JSON.stringify(requested)}`);
  }
  return name;
}

export function registerConvertRoutes({ http: router }: RouteTables, contents: IContentsProvider): void {
  router.post('api/nbg/convert', async (req, res) => {
    const body = asObject(await readJson(req, BODY_LIMIT));
    if (typeof body.path !== 'string' || !body.path.endsWith('.ipynb')) {
      throw badRequest('"path" must be the path of a notebook (.ipynb) relative to the root, e.g. "project/train.ipynb"');
    }
    if (body.force !== undefined && typeof body.force !== 'boolean') throw badRequest('"force" must be true or false');
    const nbPath = normaliseApiPath(body.path);
    const name = outputName(nbPath, body.name);
    const dir = apiDirname(nbPath);
    const pyPath = dir ? `${dir}/${name}` : name;
    const provider = contents;

    let model;
    try {
      model = await provider.get(nbPath, { content: true, type: 'notebook' });
    } catch (err) {
      if (err instanceof JupyterError && err.status === 404) {
        throw new JupyterError(409, `Notebook ${nbPath} is not saved yet; save it, then convert it`);
      }
      throw err;
    }
    if (typeof body.last_modified === 'string' && Date.parse(body.last_modified) !== Date.parse(model.last_modified)) {
      throw new JupyterError(409, `Notebook ${nbPath} has unsaved changes (the file on disk is from ${model.last_modified}); save it, then convert it`);
    }

    let exists = true;
    try {
      await provider.get(pyPath, { content: false });
    } catch (err) {
      if (!(err instanceof JupyterError && err.status === 404)) throw err;
      exists = false;
    }
    if (exists && body.force !== true) {
      throw new JupyterError(409, `${pyPath} already exists; choose another name, or set "force" to overwrite it`);
    }

    let conversion;
    try {
      conversion = notebookToPython(model.content as NotebookLike, nbPath.split('/').pop()!);
    } catch (err) {
      throw badRequest((err as Error).message);
    }
    const saved = await provider.save(pyPath, { type: 'file', format: 'text', content: conversion.source });
    sendJson(res, exists ? 200 : 201, { ...saved, content: null, overwritten: exists, notes: conversion.notes });
  });
}
