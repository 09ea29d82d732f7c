/**
 * The `obs` storage mode's contents provider: the file browser reads and writes the
 * instance's OBS path (an S3 prefix) directly, behind the same `IContentsProvider` as `~/work`.
 *
 * #### Notes
 * - Directories are prefixes: one exists when a folder marker (`dir/`) or any object below it
 *   does. New and empty directories get a marker, as S3 consoles make them.
 * - Listings page through ListObjectsV2 with `/` as delimiter. Folders carry no time in S3;
 *   they report their marker's time, or the epoch.
 * - Saves are whole-object PUTs (atomic for readers); bodies over the store's part size go up
 *   in parts. JupyterLab's chunked uploads are staged on local disk and sent once complete.
 * - Renaming a directory copies then deletes its objects (S3 has no rename): not atomic, and
 *   a failure half-way leaves both names; it is reported and can be retried.
 * - Checkpoints are kept as Jupyter keeps them: `<dir>/.ipynb_checkpoints/<stem>-checkpoint<ext>`.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { appendFile, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { buffer } from 'node:stream/consumers';
import type { Contents } from '@jupyterlab/services';
import { JupyterError } from '../../errors';
import { listAll, type ObjectInfo } from '../../../../server/src/storage/object-store';
import type { StorageAccessHolder } from '../../platform/sync/access';
import { CHECKPOINT_ID } from './fs-checkpoints';
import { checkpointPath, guard, headOrNull, type ObsCtx } from './s3-contents-support';
import { decodeFile, encodeFile } from './file-encoding';
import type { FileDownload } from './fs-contents';
import { copyBaseName, guessMimetype, incrementName, isHiddenPath, isIgnoredName, untitledName } from './names';
import { newNotebook, readNotebook, writeNotebook } from './notebook';
import { normaliseApiPath } from './paths';
import type { CheckpointModel, ContentsModel, GetOptions, IContentsProvider, SaveOptions } from './provider';

export interface S3ContentsOptions {
  access: StorageAccessHolder;
  allowHidden: boolean;
  /** Largest file whose content is returned through the API. */
  maxReadBytes: number;
  /** Where chunked uploads are staged until their last chunk (private to the agent). */
  stagingDir: string;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
const EPOCH = new Date(0).toISOString();

type Ctx = ObsCtx;

export class S3ContentsProvider implements IContentsProvider {
  constructor(private readonly _o: S3ContentsOptions) {}

  private async _ctx(): Promise<Ctx> {
    const { store, access } = await this._o.access.get();
    if (access.obsPath === null) {
      throw new JupyterError(503, 'This instance uses local storage; the object-storage file browser needs an obs-storage instance', 'storage-unavailable');
    }
    return { store, bucket: access.bucket, base: access.obsPath };
  }

  /** A normalised API path, with hidden paths refused as the filesystem provider does. */
  private _api(path: string, intent: 'read' | 'write'): string {
    const api = normaliseApiPath(path);
    if (!this._o.allowHidden && isHiddenPath(api)) {
      if (intent === 'read') throw new JupyterError(404, `file or directory does not exist: "${api}"`);
      throw new JupyterError(400, `Cannot create, change or delete the hidden file or directory "${api}" (hidden files are not allowed)`);
    }
    return api;
  }

  async get(path: string, opts: GetOptions): Promise<ContentsModel> {
    const api = this._api(path, 'read');
    const c = await this._ctx();
    return guard(async () => {
      const [file, dir] = await Promise.all([
        api === '' || opts.type === 'directory' ? null : headOrNull(c, c.base + api),
        opts.type && opts.type !== 'directory' ? null : this._dirInfo(c, api)
      ]);
      if (file) {
        if (opts.type === 'directory') throw new JupyterError(400, `${api} is not a directory`, 'bad type');
        return this._fileModel(c, api, file, opts);
      }
      if (dir) {
        if (opts.type && opts.type !== 'directory') throw new JupyterError(400, `${api || '/'} is a directory, not a ${opts.type}`, 'bad type');
        return this._dirModel(c, api, dir.lastModified, opts.content);
      }
      throw new JupyterError(404, `file or directory does not exist: "${api}"`);
    });
  }

  /** A directory's marker time, or null when no such directory exists. */
  private async _dirInfo(c: Ctx, api: string): Promise<{ lastModified: string } | null> {
    if (api === '') return { lastModified: EPOCH };
    const prefix = `${c.base}${api}/`;
    const page = await c.store.list(c.bucket, { prefix, delimiter: '/', maxKeys: 2 });
    if (page.objects.length === 0 && page.prefixes.length === 0) return null;
    const marker = page.objects.find(o => o.key === prefix);
    return { lastModified: marker ? marker.lastModified.toISOString() : EPOCH };
  }

  private _baseModel(api: string, type: Contents.ContentType, lastModified: string, size: number | null): Mutable<ContentsModel> {
    return {
      name: api === '' ? '' : posix.basename(api),
      path: api,
      type,
      writable: true,
      created: lastModified,
      last_modified: lastModified,
      mimetype: (type === 'file' ? guessMimetype(api) : null) as string,
      content: null,
      format: null as unknown as Contents.FileFormat,
      size: size as number
    };
  }

  private async _fileModel(c: Ctx, api: string, info: ObjectInfo, opts: GetOptions): Promise<ContentsModel> {
    const type = opts.type ?? (api.endsWith('.ipynb') ? 'notebook' : 'file');
    const model = this._baseModel(api, type, info.lastModified.toISOString(), info.size);
    if (!opts.content && !opts.hash) return model;
    if (info.size > this._o.maxReadBytes) {
      throw new JupyterError(413, `${api} is ${info.size} bytes, more than the ${this._o.maxReadBytes} the contents API returns`);
    }
    const bytes = await buffer(await c.store.get(c.bucket, c.base + api));
    if (opts.hash) Object.assign(model, { hash: createHash('sha256').update(bytes).digest('hex'), hash_algorithm: 'sha256' });
    if (!opts.content) return model;
    if (type === 'notebook') {
      const { content, message } = readNotebook(bytes.toString('utf8'), api);
      return Object.assign(model, { content, format: 'json' as const }, message ? { message } : {});
    }
    const { content, format } = decodeFile(bytes, opts.format, api);
    return Object.assign(model, { content, format, mimetype: model.mimetype ?? (format === 'text' ? 'text/plain' : 'application/octet-stream') });
  }

  private async _dirModel(c: Ctx, api: string, lastModified: string, content: boolean): Promise<ContentsModel> {
    const model = this._baseModel(api, 'directory', lastModified, null);
    if (!content) return model;
    const prefix = api ? `${c.base}${api}/` : c.base;
    const children: ContentsModel[] = [];
    const dirs = new Map<string, string>();
    let token: string | undefined;
    do {
      const page = await c.store.list(c.bucket, { prefix, delimiter: '/', continuationToken: token });
      for (const p of page.prefixes) dirs.set(p.slice(prefix.length, -1), EPOCH);
      for (const o of page.objects) {
        const name = o.key.slice(prefix.length);
        if (name === '') continue; // this directory's own marker
        if (!this._listable(name)) continue;
        const childApi = api ? `${api}/${name}` : name;
        children.push(this._baseModel(childApi, name.endsWith('.ipynb') ? 'notebook' : 'file', o.lastModified.toISOString(), o.size));
      }
      token = page.continuationToken;
    } while (token);
    for (const [name] of dirs) {
      if (!this._listable(name)) continue;
      children.push(this._baseModel(api ? `${api}/${name}` : name, 'directory', EPOCH, null));
    }
    return Object.assign(model, { content: children, format: 'json' as const });
  }

  private _listable(name: string): boolean {
    return !isIgnoredName(name) && (this._o.allowHidden || !name.startsWith('.'));
  }

  async save(path: string, model: Partial<ContentsModel>, opts: SaveOptions = {}): Promise<ContentsModel> {
    const api = this._api(path, 'write');
    const type = model.type;
    if (!type) throw new JupyterError(400, 'No file type provided; "type" must be "file", "notebook" or "directory"');
    if (type !== 'file' && type !== 'notebook' && type !== 'directory') {
      throw new JupyterError(400, `Unhandled contents type "${type}"; allowed: file, notebook, directory`);
    }
    if (model.content === undefined && type !== 'directory') throw new JupyterError(400, 'No file content provided');
    if (api === '') throw new JupyterError(400, 'Cannot save over the root directory');
    const c = await this._ctx();
    return guard(async () => {
      await this._assertParentDir(c, api);
      if (opts.chunk !== undefined) return this._saveChunk(c, api, model, opts.chunk);
      let message: string | null = null;
      if (type === 'directory') {
        if (await headOrNull(c, c.base + api)) throw new JupyterError(400, `Not a directory: ${api}`);
        await c.store.put(c.bucket, `${c.base}${api}/`, Buffer.alloc(0));
      } else {
        if (await this._dirInfo(c, api)) throw new JupyterError(400, `${api} is a directory`);
        if (type === 'notebook') {
          const written = writeNotebook(model.content, api);
          message = written.message;
          await c.store.put(c.bucket, c.base + api, Buffer.from(written.text, 'utf8'), { contentType: 'application/x-ipynb+json' });
          // One checkpoint always exists for a notebook (jupyter_server does the same).
          if (!(await headOrNull(c, c.base + checkpointPath(api)))) await c.store.copy(c.bucket, c.base + api, c.base + checkpointPath(api));
        } else {
          const bytes = encodeFile(model.content, model.format, api);
          await c.store.put(c.bucket, c.base + api, bytes, { contentType: guessMimetype(api) ?? 'application/octet-stream' });
        }
      }
      const saved = await this.get(api, { content: false, type: type === 'notebook' ? 'notebook' : type === 'directory' ? 'directory' : undefined });
      return message ? ({ ...saved, message } as ContentsModel) : saved;
    });
  }

  private async _saveChunk(c: Ctx, api: string, model: Partial<ContentsModel>, chunk: number): Promise<ContentsModel> {
    if (model.type !== 'file') throw new JupyterError(400, `File type "${model.type}" is not supported for large file transfer; use "file"`);
    const bytes = encodeFile(model.content, model.format, api);
    await mkdir(this._o.stagingDir, { recursive: true, mode: 0o700 });
    const staging = join(this._o.stagingDir, createHash('sha256').update(c.base + api).digest('hex').slice(0, 32));
    if (chunk === 1) await writeFile(staging, bytes);
    else {
      const exists = await stat(staging).then(() => true, () => false);
      if (!exists && chunk !== -1) throw new JupyterError(400, `Chunk ${chunk} of ${api} arrived without chunk 1; restart the upload`);
      if (exists) await appendFile(staging, bytes);
      else await writeFile(staging, bytes);
    }
    const size = (await stat(staging)).size;
    if (chunk !== -1) return this._baseModel(api, 'file', new Date().toISOString(), size);
    try {
      await c.store.put(c.bucket, c.base + api, createReadStream(staging), { size, contentType: guessMimetype(api) ?? 'application/octet-stream' });
    } finally {
      await rm(staging, { force: true });
    }
    return this.get(api, { content: false, type: 'file' });
  }

  async delete(path: string): Promise<void> {
    const api = this._api(path, 'write');
    if (api === '') throw new JupyterError(400, "Can't delete the root directory");
    const c = await this._ctx();
    await guard(async () => {
      if (await headOrNull(c, c.base + api)) {
        await c.store.delete(c.bucket, [c.base + api, c.base + checkpointPath(api)]);
        return;
      }
      const keys: string[] = [];
      for await (const o of listAll(c.store, c.bucket, `${c.base}${api}/`)) keys.push(o.key);
      if (keys.length === 0) throw new JupyterError(404, `File or directory does not exist: ${api}`);
      await c.store.delete(c.bucket, keys);
    });
  }

  async rename(oldPath: string, newPath: string): Promise<ContentsModel> {
    const from = this._api(oldPath, 'write');
    const to = this._api(newPath, 'write');
    if (from === '' || to === '') throw new JupyterError(400, 'Cannot rename the root directory');
    const c = await this._ctx();
    return guard(async () => {
      const file = await headOrNull(c, c.base + from);
      const dir = file ? null : await this._dirInfo(c, from);
      if (!file && !dir) throw new JupyterError(404, `File or directory does not exist: ${from}`);
      if (from === to) return this.get(to, { content: false });
      if ((await headOrNull(c, c.base + to)) || (await this._dirInfo(c, to))) throw new JupyterError(409, `File already exists: ${to}`);
      if ((to + '/').startsWith(from + '/')) throw new JupyterError(400, `Cannot move ${from} into itself`);
      await this._assertParentDir(c, to);
      if (file) {
        await c.store.copy(c.bucket, c.base + from, c.base + to);
        if (await headOrNull(c, c.base + checkpointPath(from))) await c.store.copy(c.bucket, c.base + checkpointPath(from), c.base + checkpointPath(to));
        await c.store.delete(c.bucket, [c.base + from, c.base + checkpointPath(from)]);
      } else {
        const src = `${c.base}${from}/`;
        const dst = `${c.base}${to}/`;
        const keys: string[] = [];
        for await (const o of listAll(c.store, c.bucket, src)) keys.push(o.key);
        for (let i = 0; i < keys.length; i += 16) {
          await Promise.all(keys.slice(i, i + 16).map(k => c.store.copy(c.bucket, k, dst + k.slice(src.length))));
        }
        await c.store.delete(c.bucket, keys);
      }
      return this.get(to, { content: false });
    });
  }

  async copy(fromPath: string, toDir: string): Promise<ContentsModel> {
    const from = this._api(fromPath, 'read');
    const dir = this._api(toDir, 'write');
    const c = await this._ctx();
    return guard(async () => {
      if (!(await headOrNull(c, c.base + from))) {
        if (await this._dirInfo(c, from)) throw new JupyterError(400, `Can't copy directories (${from})`);
        throw new JupyterError(404, `file or directory does not exist: "${from}"`);
      }
      if (!(await this._dirInfo(c, dir))) throw new JupyterError(404, `No such directory: ${dir || '/'}`);
      const name = await incrementName(copyBaseName(posix.basename(from)), '-Copy', n => this._exists(c, dir ? `${dir}/${n}` : n));
      const to = dir ? `${dir}/${name}` : name;
      await c.store.copy(c.bucket, c.base + from, c.base + to);
      return this.get(to, { content: false });
    });
  }

  async newUntitled(dir: string, opts: { type: Contents.ContentType; ext?: string }): Promise<ContentsModel> {
    const d = this._api(dir, 'write');
    const c = await this._ctx();
    return guard(async () => {
      if (!(await this._dirInfo(c, d))) throw new JupyterError(404, `No such directory: ${d || '/'}`);
      const type = opts.type || (opts.ext === '.ipynb' ? 'notebook' : 'file');
      if (type !== 'file' && type !== 'notebook' && type !== 'directory') {
        throw new JupyterError(400, `Unexpected model type "${type}"; allowed: file, notebook, directory`);
      }
      const name = await incrementName(untitledName(type, opts.ext), type === 'directory' ? ' ' : '', n => this._exists(c, d ? `${d}/${n}` : n));
      const api = d ? `${d}/${name}` : name;
      if (type === 'directory') await c.store.put(c.bucket, `${c.base}${api}/`, Buffer.alloc(0));
      else {
        const body = type === 'notebook' ? writeNotebook(newNotebook(), name).text : '';
        await c.store.put(c.bucket, c.base + api, Buffer.from(body, 'utf8'), { contentType: type === 'notebook' ? 'application/x-ipynb+json' : guessMimetype(name) ?? 'text/plain' });
      }
      return this.get(api, { content: false });
    });
  }

  async createCheckpoint(path: string): Promise<CheckpointModel> {
    const api = this._api(path, 'read');
    const c = await this._ctx();
    return guard(async () => {
      await this._assertFile(c, api);
      const info = await c.store.copy(c.bucket, c.base + api, c.base + checkpointPath(api));
      return { id: CHECKPOINT_ID, last_modified: info.lastModified.toISOString() };
    });
  }

  async listCheckpoints(path: string): Promise<CheckpointModel[]> {
    const api = this._api(path, 'read');
    const c = await this._ctx();
    return guard(async () => {
      await this._assertFile(c, api);
      const cp = await headOrNull(c, c.base + checkpointPath(api));
      return cp ? [{ id: CHECKPOINT_ID, last_modified: cp.lastModified.toISOString() }] : [];
    });
  }

  async restoreCheckpoint(path: string, checkpointId: string): Promise<void> {
    const api = this._api(path, 'write');
    const c = await this._ctx();
    await guard(async () => {
      if (checkpointId !== CHECKPOINT_ID || !(await headOrNull(c, c.base + checkpointPath(api)))) {
        throw new JupyterError(404, `Checkpoint ${checkpointId} of ${api} does not exist`);
      }
      await c.store.copy(c.bucket, c.base + checkpointPath(api), c.base + api);
    });
  }

  async deleteCheckpoint(path: string, checkpointId: string): Promise<void> {
    const api = this._api(path, 'write');
    const c = await this._ctx();
    await guard(async () => {
      if (checkpointId !== CHECKPOINT_ID || !(await headOrNull(c, c.base + checkpointPath(api)))) {
        throw new JupyterError(404, `Checkpoint ${checkpointId} of ${api} does not exist`);
      }
      await c.store.delete(c.bucket, [c.base + checkpointPath(api)]);
    });
  }

  /** Opens a file for a raw download (`files/…`), streamed from the store. */
  async open(path: string): Promise<FileDownload> {
    const api = this._api(path, 'read');
    const c = await this._ctx();
    return guard(async () => {
      const info = await headOrNull(c, c.base + api);
      if (!info) throw new JupyterError(404, `${api || '/'} is not a file`);
      return {
        name: posix.basename(api),
        size: info.size,
        mimetype: guessMimetype(api) ?? 'application/octet-stream',
        lastModified: info.lastModified,
        stream: await c.store.get(c.bucket, c.base + api)
      };
    });
  }

  private async _exists(c: Ctx, api: string): Promise<boolean> {
    return (await headOrNull(c, c.base + api)) !== null || (await this._dirInfo(c, api)) !== null;
  }

  private async _assertFile(c: Ctx, api: string): Promise<void> {
    if (await headOrNull(c, c.base + api)) return;
    if (await this._dirInfo(c, api)) throw new JupyterError(400, `Checkpoints are kept for files and notebooks, and ${api || '/'} is a directory`);
    throw new JupyterError(404, `file or directory does not exist: "${api}"`);
  }

  private async _assertParentDir(c: Ctx, api: string): Promise<void> {
    const parent = posix.dirname(api);
    if (parent === '.' || (await this._dirInfo(c, parent))) return;
    throw new JupyterError(404, `No such directory: ${parent}`);
  }
}
