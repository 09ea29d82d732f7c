/**
 * `/api/contents` (jupyter_server api.yaml `/contents/{path}`, `services/contents/handlers.py`)
 * over any `IContentsProvider`, plus `files/<path>` raw downloads (`files/handlers.py`).
 *
 * #### Notes
 * - Status codes follow jupyter_server: PUT answers 201 when it created the file, 200 when
 *   it replaced one; POST (new untitled, copy) answers 201 with `Location`.
 * - Reading a directory is what an open file browser repeats on a timer, so it is not
 *   activity; opening a file or notebook is.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import type { Contents } from '@jupyterlab/services';
import type { RouteTables } from '../../http/server';
import { asObject, readJson, sendJson, sendNoContent } from '../../http/respond';
import { JupyterError, badRequest } from '../../errors';
import type { ContentsModel, IContentsProvider } from './provider';
import type { FileDownload } from './fs-contents';
import { normaliseApiPath } from './paths';

export interface ContentsRoutesOptions {
  baseUrl: string;
  /** Largest request body (a whole notebook or file, or one upload chunk). */
  maxBodyBytes: number;
  /** Opens a file for `files/` as a stream; without it, downloads go through `get`. */
  download?: (path: string) => Promise<FileDownload>;
  /** Called when a request is activity that the route table cannot tell (opening a file). */
  onActivity(): void;
  /** Told of each contents action that succeeded (jupyter_server's contents_service events). */
  onEvent?(action: ContentsAction, path: string, sourcePath?: string): void;
}

export type ContentsAction = 'get' | 'create' | 'save' | 'upload' | 'rename' | 'copy' | 'delete';

const TYPES = new Set(['directory', 'file', 'notebook']);
const FORMATS = new Set(['text', 'base64']);

export function registerContentsRoutes({ http }: RouteTables, contents: IContentsProvider, opts: ContentsRoutesOptions): void {
  const event = (action: ContentsAction, path: string, sourcePath?: string): void => opts.onEvent?.(action, path, sourcePath);
  const location = (path: string): string => `${opts.baseUrl}api/contents/${urlEscape(path)}`;
  const body = async (req: IncomingMessage): Promise<Record<string, unknown> | null> => {
    const raw = await readJson(req, opts.maxBodyBytes);
    if (raw === null) return null;
    const obj = asObject(raw);
    return Object.keys(obj).length === 0 ? null : obj;
  };

  // Checkpoints first: their paths end in `/checkpoints[/<id>]` (jupyter_server does the same).
  http.get('api/contents/*path/checkpoints', async (_req, res, { path }) => {
    sendJson(res, 200, await contents.listCheckpoints(path!));
  });
  http.post('api/contents/*path/checkpoints', async (_req, res, { path }) => {
    const cp = await contents.createCheckpoint(path!);
    sendJson(res, 201, cp, { Location: `${location(path!)}/checkpoints/${encodeURIComponent(cp.id)}` });
  });
  http.post('api/contents/*path/checkpoints/:id', async (_req, res, { path, id }) => {
    await contents.restoreCheckpoint(path!, id!);
    sendNoContent(res);
  });
  http.delete('api/contents/*path/checkpoints/:id', async (_req, res, { path, id }) => {
    await contents.deleteCheckpoint(path!, id!);
    sendNoContent(res);
  });

  http.get('api/contents/*path', async (_req, res, { path }, url) => {
    const q = url.searchParams;
    const type = q.get('type') ?? undefined;
    if (type !== undefined && !TYPES.has(type)) throw badRequest(`Type "${type}" is invalid; allowed: directory, file, notebook`);
    const format = q.get('format') ?? undefined;
    if (format !== undefined && !FORMATS.has(format)) throw badRequest(`Format "${format}" is invalid; allowed: text, base64`);
    const content = flag(q, 'content', true);
    const hash = flag(q, 'hash', false);
    const model = await contents.get(path!, {
      content,
      hash,
      type: type as Contents.ContentType | undefined,
      format: format as Contents.FileFormat | undefined
    });
    if (content && model.type !== 'directory') opts.onActivity();
    sendModel(res, 200, model);
    event('get', model.path);
  });

  http.put('api/contents/*path', async (req, res, { path }) => {
    const model = await body(req);
    if (!model) {
      const created = await contents.newUntitled(path!, { type: '' as Contents.ContentType });
      sendModel(res, 201, created, location);
      event('create', created.path);
      return;
    }
    if (model.copy_from !== undefined) throw badRequest('Cannot copy with PUT, only POST');
    const chunk = model.chunk;
    if (chunk !== undefined && chunk !== null && !(Number.isInteger(chunk) && ((chunk as number) >= 1 || chunk === -1))) {
      throw badRequest(`"chunk" must be 1, 2, … for the chunks of an upload and -1 for the last one, got ${JSON.stringify(chunk)}`);
    }
    const existed = await exists(contents, path!);
    const saved = await contents.save(path!, model as Partial<ContentsModel>, chunk == null ? {} : { chunk: chunk as number });
    sendModel(res, existed ? 200 : 201, saved, location);
    if (chunk == null || chunk === -1) event(existed ? 'save' : 'upload', saved.path);
  });

  http.post('api/contents/*path', async (req, res, { path }) => {
    const existing = await contents.get(path!, { content: false }).catch(() => null);
    if (existing && existing.type !== 'directory') throw badRequest('Cannot POST to files, use PUT instead.');
    const model = (await body(req)) ?? {};
    const copyFrom = model.copy_from;
    if (copyFrom !== undefined) {
      if (typeof copyFrom !== 'string' || copyFrom === '') throw badRequest('"copy_from" must be the path of a file');
      const copied = existing
        ? await contents.copy(copyFrom, path!)
        : await copyTo(contents, copyFrom, path!);
      sendModel(res, 201, copied, location);
      event('copy', copied.path, normaliseApiPath(copyFrom));
      return;
    }
    const { type = '', ext = '' } = model;
    if (typeof type !== 'string' || (type !== '' && !TYPES.has(type))) throw badRequest('"type" must be "file", "notebook" or "directory"');
    if (typeof ext !== 'string') throw badRequest('"ext" must be a string such as ".txt"');
    if (!existing) throw new JupyterError(404, `No such directory: ${normaliseApiPath(path!) || '/'}`);
    const created = await contents.newUntitled(path!, { type: type as Contents.ContentType, ext });
    sendModel(res, 201, created, location);
    event('create', created.path);
  });

  http.patch('api/contents/*path', async (req, res, { path }) => {
    const model = await body(req);
    if (!model) throw badRequest('JSON body missing; send {"path": "<new path>"} to rename');
    const to = model.path;
    if (typeof to !== 'string' || to === '') throw badRequest('"path" must be the new path of the file or directory');
    const renamed = await contents.rename(path!, to);
    sendModel(res, 200, renamed, location);
    event('rename', renamed.path, normaliseApiPath(path!));
  });

  http.delete('api/contents/*path', async (_req, res, { path }) => {
    await contents.delete(path!);
    sendNoContent(res);
    event('delete', normaliseApiPath(path!));
  });

  // Raw files for downloads, <img src> in Markdown, and "Download" in the file browser.
  http.get('files/*path', async (req, res, { path }, url) => {
    const file = opts.download ? await opts.download(path!) : await downloadViaGet(contents, path!);
    opts.onActivity();
    const headers: Record<string, string | number> = {
      'Content-Type': file.mimetype,
      'Content-Length': file.size,
      'Last-Modified': file.lastModified.toUTCString(),
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
      // A user's HTML file must not run script as the platform's origin.
      'Content-Security-Policy': 'sandbox allow-scripts'
    };
    if (url.searchParams.has('download')) {
      headers['Content-Disposition'] = `attachment; filename*=UTF-8''${encodeURIComponent(file.name)}`;
    }
    res.writeHead(200, headers);
    if (req.method === 'HEAD') {
      file.stream.destroy();
      res.end();
      return;
    }
    await new Promise<void>((resolve, reject) => {
      file.stream.once('error', reject);
      res.once('close', () => {
        file.stream.destroy();
        resolve();
      });
      file.stream.pipe(res);
    });
  });
}

/** Sends a model with the headers jupyter_server sets. */
function sendModel(res: ServerResponse, status: number, model: ContentsModel, location?: (path: string) => string): void {
  const headers: Record<string, string> = { 'Last-Modified': model.last_modified };
  if (location) headers.Location = location(model.path);
  sendJson(res, status, model, headers);
}

function flag(q: URLSearchParams, name: string, dflt: boolean): boolean {
  const v = q.get(name);
  if (v === null || v === '') return dflt;
  if (v === '0') return false;
  if (v === '1') return true;
  throw badRequest(`${name.charAt(0).toUpperCase() + name.slice(1)} "${v}" is invalid; allowed: 0, 1`);
}

async function exists(contents: IContentsProvider, path: string): Promise<boolean> {
  try {
    await contents.get(path, { content: false });
    return true;
  } catch (err) {
    if (err instanceof JupyterError && err.status === 404) return false;
    throw err;
  }
}

/** Copies a file to an explicit new path (POST to a path that does not exist yet). */
async function copyTo(contents: IContentsProvider, from: string, to: string): Promise<ContentsModel> {
  const parent = posix.dirname(normaliseApiPath(to));
  const dir = await contents.get(parent === '.' ? '' : parent, { content: false }).catch(() => null);
  if (!dir || dir.type !== 'directory') throw new JupyterError(404, `No such parent directory: ${parent} to copy file in`);
  const src = await contents.get(from, { content: true, format: 'base64' });
  if (src.type === 'directory') throw badRequest(`Can't copy directories (${src.path})`);
  return contents.save(to, { type: src.type, format: src.format, content: src.content });
}

/** A download for providers without streaming: the base64 content, decoded. */
async function downloadViaGet(contents: IContentsProvider, path: string): Promise<FileDownload> {
  const model = await contents.get(path, { content: true, type: 'file', format: 'base64' });
  const bytes = Buffer.from(model.content as string, 'base64');
  return {
    name: model.name,
    size: bytes.length,
    mimetype: model.mimetype ?? 'application/octet-stream',
    lastModified: new Date(model.last_modified),
    stream: Readable.from([bytes])
  };
}

/** Percent-encodes each segment of an API path (tornado `url_escape` per segment). */
export function urlEscape(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}
