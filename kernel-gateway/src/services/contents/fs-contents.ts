/**
 * The filesystem contents provider (the default, `~/work`): jupyter_server's
 * `LargeFileManager` + `FileCheckpoints` semantics behind `IContentsProvider`.
 *
 * #### Notes
 * - Every API path goes through `resolveApiPath`: `..`, absolute paths, NUL bytes and
 *   symlinks resolving outside the root are refused before any file is touched.
 * - Saves are atomic (temporary file + fsync + rename). A save through a symlink inside the
 *   root writes the link's target, as Jupyter does, and keeps the link.
 * - Chunked uploads are staged in a hidden `.~<name>.upload` file next to the target and
 *   renamed over it on the last chunk, so other readers never see half a file (Jupyter
 *   appends to the target in place).
 * - Hidden entries (dot-files) are neither listed nor served unless `allowHidden`, as in
 *   jupyter_server; deleting a directory deletes its contents (there is no trash here).
 */
import { createHash } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { access, appendFile, copyFile, link, lstat, mkdir, open, readFile, readdir, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, posix, sep } from 'node:path';
import type { Readable } from 'node:stream';
import type { Contents } from '@jupyterlab/services';
import { JupyterError } from '../../errors';
import { tempPathFor, writeAtomic } from './atomic';
import { decodeFile, encodeFile } from './file-encoding';
import { FsCheckpoints } from './fs-checkpoints';
import { copyBaseName, guessMimetype, incrementName, isHiddenPath, isIgnoredName, untitledName } from './names';
import { newNotebook, readNotebook, writeNotebook } from './notebook';
import { normaliseApiPath, resolveApiPath } from './paths';
import type { CheckpointModel, ContentsModel, GetOptions, IContentsProvider, SaveOptions } from './provider';

export interface FsContentsOptions {
  /** The contents root. */
  rootDir: string;
  /** List and serve dot-files (jupyter_server `allow_hidden`). */
  allowHidden: boolean;
  /** Largest file whose content is returned through the API (downloads use `files/`). */
  maxReadBytes: number;
}

/** A file opened for a raw download (`files/…`). */
export interface FileDownload {
  name: string;
  size: number;
  mimetype: string;
  lastModified: Date;
  stream: Readable;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export class FsContentsProvider implements IContentsProvider {
  private _realRoot: string | null = null;
  private _checkpoints: FsCheckpoints | null = null;

  constructor(private readonly _o: FsContentsOptions) {}

  async get(path: string, opts: GetOptions): Promise<ContentsModel> {
    const { api, abs } = await this._resolve(path, 'read');
    const st = await statOr404(abs, api);
    if (st.isDirectory()) {
      if (opts.type && opts.type !== 'directory') throw new JupyterError(400, `${api || '/'} is a directory, not a ${opts.type}`, 'bad type');
      return this._dirModel(api, abs, st, opts.content);
    }
    if (opts.type === 'directory') throw new JupyterError(400, `${api} is not a directory`, 'bad type');
    // Reading a FIFO would block forever; sockets and devices are not files either.
    if (!st.isFile()) throw new JupyterError(400, `${api} is not a regular file or directory`);
    const type = opts.type ?? (api.endsWith('.ipynb') ? 'notebook' : 'file');
    const model = await this._baseModel(api, abs, st, type);
    if (!opts.content && !opts.hash) return model;
    if (st.size > this._o.maxReadBytes) {
      throw new JupyterError(413, `${api} is ${st.size} bytes, more than the ${this._o.maxReadBytes} the contents API returns; download it from files/${api}`);
    }
    const bytes = await readFile(abs);
    if (opts.hash) Object.assign(model, { hash: createHash('sha256').update(bytes).digest('hex'), hash_algorithm: 'sha256' });
    if (!opts.content) return model;
    if (type === 'notebook') {
      const { content, message } = readNotebook(bytes.toString('utf8'), api);
      Object.assign(model, { content, format: 'json' }, message ? { message } : {});
      return model;
    }
    const { content, format } = decodeFile(bytes, opts.format, api);
    return Object.assign(model, { content, format, mimetype: model.mimetype ?? (format === 'text' ? 'text/plain' : 'application/octet-stream') });
  }

  async save(path: string, model: Partial<ContentsModel>, opts: SaveOptions = {}): Promise<ContentsModel> {
    const { api, abs } = await this._resolve(path, 'write');
    const type = model.type;
    if (!type) throw new JupyterError(400, 'No file type provided; "type" must be "file", "notebook" or "directory"');
    if (type !== 'file' && type !== 'notebook' && type !== 'directory') {
      throw new JupyterError(400, `Unhandled contents type "${type}"; allowed: file, notebook, directory`);
    }
    if (model.content === undefined && type !== 'directory') throw new JupyterError(400, 'No file content provided');
    if (api === '') throw new JupyterError(400, 'Cannot save over the root directory');
    await this._assertParentDir(api, abs);
    if (opts.chunk !== undefined) return this._saveChunk(api, abs, model, opts.chunk);
    let message: string | null = null;
    if (type === 'directory') {
      await mkdir(abs).catch(async err => {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        if (!(await stat(abs)).isDirectory()) throw new JupyterError(400, `Not a directory: ${api}`);
      });
    } else {
      const target = await this._writeTarget(api, abs);
      if (type === 'notebook') {
        const written = writeNotebook(model.content, api);
        message = written.message;
        await writeAtomic(target, written.text);
        // One checkpoint always exists for a notebook (jupyter_server does the same).
        const checkpoints = await this.checkpoints();
        if ((await checkpoints.list(target)).length === 0) await checkpoints.create(target);
      } else {
        await writeAtomic(target, encodeFile(model.content, model.format, api));
      }
    }
    const saved = await this.get(api, { content: false, type: type === 'notebook' ? 'notebook' : undefined });
    return message ? { ...saved, message } as ContentsModel : saved;
  }

  async delete(path: string): Promise<void> {
    const { api, abs } = await this._resolve(path, 'write');
    if (api === '') throw new JupyterError(400, "Can't delete the root directory");
    const st = await lstat(abs).catch(() => null);
    if (!st) throw new JupyterError(404, `File or directory does not exist: ${api}`);
    if (st.isDirectory()) {
      await rm(abs, { recursive: true });
    } else {
      await rm(abs);
      if (!st.isSymbolicLink()) await (await this.checkpoints()).deleteAll(abs);
    }
  }

  async rename(oldPath: string, newPath: string): Promise<ContentsModel> {
    const from = await this._resolve(oldPath, 'write');
    const to = await this._resolve(newPath, 'write');
    if (from.api === '' || to.api === '') throw new JupyterError(400, 'Cannot rename the root directory');
    const st = await lstat(from.abs).catch(() => null);
    if (!st) throw new JupyterError(404, `File or directory does not exist: ${from.api}`);
    if (from.api === to.api) return this.get(to.api, { content: false });
    if (await lstat(to.abs).then(() => true, () => false)) throw new JupyterError(409, `File already exists: ${to.api}`);
    if ((to.api + '/').startsWith(from.api + '/')) throw new JupyterError(400, `Cannot move ${from.api} into itself`);
    await this._assertParentDir(to.api, to.abs);
    await rename(from.abs, to.abs);
    if (st.isFile()) await (await this.checkpoints()).rename(from.abs, to.abs);
    return this.get(to.api, { content: false });
  }

  async copy(fromPath: string, toDir: string): Promise<ContentsModel> {
    const from = await this._resolve(fromPath, 'read');
    const st = await statOr404(from.abs, from.api);
    if (st.isDirectory()) throw new JupyterError(400, `Can't copy directories (${from.api})`);
    const dir = await this._resolve(toDir, 'write');
    const dst = await stat(dir.abs).catch(() => null);
    if (!dst?.isDirectory()) throw new JupyterError(404, `No such directory: ${dir.api || '/'}`);
    const tmp = tempPathFor(join(dir.abs, basename(from.abs)));
    try {
      await copyFile(from.abs, tmp);
      for (let attempt = 0; ; attempt++) {
        const name = await incrementName(copyBaseName(basename(from.abs)), '-Copy', n => exists(join(dir.abs, n)));
        try {
          // link(2), unlike rename(2), fails when the name was taken meanwhile.
          await link(tmp, join(dir.abs, name));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 100) continue;
          throw err;
        }
        return await this.get(posix.join(dir.api, name), { content: false });
      }
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async newUntitled(dir: string, opts: { type: Contents.ContentType; ext?: string }): Promise<ContentsModel> {
    const d = await this._resolve(dir, 'write');
    const st = await stat(d.abs).catch(() => null);
    if (!st?.isDirectory()) throw new JupyterError(404, `No such directory: ${d.api || '/'}`);
    const type = opts.type || (opts.ext === '.ipynb' ? 'notebook' : 'file');
    if (type !== 'file' && type !== 'notebook' && type !== 'directory') {
      throw new JupyterError(400, `Unexpected model type "${type}"; allowed: file, notebook, directory`);
    }
    for (let attempt = 0; ; attempt++) {
      const name = await incrementName(untitledName(type, opts.ext), type === 'directory' ? ' ' : '', n => exists(join(d.abs, n)));
      const abs = join(d.abs, name);
      try {
        if (type === 'directory') await mkdir(abs);
        else await writeFile(abs, type === 'notebook' ? writeNotebook(newNotebook(), name).text : '', { flag: 'wx' });
      } catch (err) {
        // Someone took the name between the check and the create: pick the next one.
        if ((err as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 100) continue;
        throw err;
      }
      return this.get(posix.join(d.api, name), { content: false });
    }
  }

  async createCheckpoint(path: string): Promise<CheckpointModel> {
    return (await this.checkpoints()).create(await this._checkpointTarget(path));
  }

  async listCheckpoints(path: string): Promise<CheckpointModel[]> {
    return (await this.checkpoints()).list(await this._checkpointTarget(path));
  }

  async restoreCheckpoint(path: string, checkpointId: string): Promise<void> {
    await (await this.checkpoints()).restore(await this._checkpointTarget(path), checkpointId);
  }

  async deleteCheckpoint(path: string, checkpointId: string): Promise<void> {
    await (await this.checkpoints()).delete(await this._checkpointTarget(path), checkpointId);
  }

  /** Opens a file for a raw download, streamed. @throws 404 for directories and missing files. */
  async open(path: string): Promise<FileDownload> {
    const { api, abs } = await this._resolve(path, 'read');
    const st = await statOr404(abs, api);
    if (!st.isFile()) throw new JupyterError(404, `${api || '/'} is not a file`);
    const fh = await open(abs, 'r');
    return {
      name: basename(abs),
      size: st.size,
      mimetype: guessMimetype(abs) ?? 'application/octet-stream',
      lastModified: st.mtime,
      stream: fh.createReadStream()
    };
  }

  /** The checkpoint store (created on first use, once the root's real path is known). */
  async checkpoints(): Promise<FsCheckpoints> {
    this._checkpoints ??= new FsCheckpoints(await this._root());
    return this._checkpoints;
  }

  private async _root(): Promise<string> {
    this._realRoot ??= await realpath(this._o.rootDir);
    return this._realRoot;
  }

  /**
   * An API path and its absolute path under the root.
   * @throws 400 for invalid paths, 404 outside the root; hidden paths when not allowed:
   *   404 to read (as if absent), 400 to change.
   */
  private async _resolve(path: string, intent: 'read' | 'write'): Promise<{ api: string; abs: string }> {
    const api = normaliseApiPath(path);
    if (!this._o.allowHidden && isHiddenPath(api)) {
      if (intent === 'read') throw new JupyterError(404, `file or directory does not exist: "${api}"`);
      throw new JupyterError(400, `Cannot create, change or delete the hidden file or directory "${api}" (hidden files are not allowed)`);
    }
    return { api, abs: await resolveApiPath(this._o.rootDir, api) };
  }

  /** The file a write goes to: the target of a symlink inside the root, else the path. */
  private async _writeTarget(api: string, abs: string): Promise<string> {
    const real = await realpath(abs).catch(() => null);
    if (real === null) return abs;
    const st = await stat(real);
    if (st.isDirectory()) throw new JupyterError(400, `${api} is a directory`);
    return real;
  }

  private async _assertParentDir(api: string, abs: string): Promise<void> {
    const parent = await stat(dirname(abs)).catch(() => null);
    if (!parent?.isDirectory()) throw new JupyterError(404, `No such directory: ${posix.dirname(api) === '.' ? '/' : posix.dirname(api)}`);
  }

  private async _checkpointTarget(path: string): Promise<string> {
    const { api, abs } = await this._resolve(path, 'read');
    const st = await statOr404(abs, api);
    if (!st.isFile()) throw new JupyterError(400, `Checkpoints are kept for files and notebooks, and ${api || '/'} is a directory`);
    return realpath(abs);
  }

  private async _saveChunk(api: string, abs: string, model: Partial<ContentsModel>, chunk: number): Promise<ContentsModel> {
    if (model.type !== 'file') throw new JupyterError(400, `File type "${model.type}" is not supported for large file transfer; use "file"`);
    const bytes = encodeFile(model.content, model.format, api);
    const target = await this._writeTarget(api, abs);
    const staging = join(dirname(target), `.~${basename(target)}.upload`);
    if (chunk === 1) {
      await writeFile(staging, bytes);
    } else if (!(await exists(staging))) {
      // A one-chunk upload is a plain save; a later chunk without the first is an error.
      if (chunk !== -1) throw new JupyterError(400, `Chunk ${chunk} of ${api} arrived without chunk 1; restart the upload`);
      await writeAtomic(target, bytes);
      return this.get(api, { content: false, type: 'file' });
    } else {
      await appendFile(staging, bytes);
    }
    if (chunk !== -1) return this._stagingModel(api, staging);
    const mode = await stat(target).then(s => s.mode & 0o7777, () => null);
    const fh = await open(staging, 'r+');
    try {
      await fh.sync();
      if (mode !== null) await fh.chmod(mode);
    } finally {
      await fh.close();
    }
    await rename(staging, target);
    return this.get(api, { content: false, type: 'file' });
  }

  /** The model of an upload in progress: the target's name with the bytes so far. */
  private async _stagingModel(api: string, staging: string): Promise<ContentsModel> {
    const st = await stat(staging);
    const m = await this._baseModel(api, staging, st, 'file');
    return { ...m, name: posix.basename(api) };
  }

  private async _baseModel(api: string, abs: string, st: Stats, type: Contents.ContentType): Promise<Mutable<ContentsModel>> {
    return {
      name: api === '' ? '' : posix.basename(api),
      path: api,
      type,
      writable: await access(abs, constants.W_OK).then(() => true, () => false),
      created: (st.birthtimeMs > 0 ? st.birthtime : st.ctime).toISOString(),
      last_modified: st.mtime.toISOString(),
      // Jupyter sends null where @jupyterlab/services' types say string.
      mimetype: (type === 'file' ? guessMimetype(api) : null) as string,
      content: null,
      format: null as unknown as Contents.FileFormat,
      size: type === 'directory' ? (null as unknown as number) : st.size
    };
  }

  private async _dirModel(api: string, abs: string, st: Stats, content: boolean): Promise<ContentsModel> {
    const model = await this._baseModel(api, abs, st, 'directory');
    if (!content) return model;
    const root = await this._root();
    const entries = await readdir(abs, { withFileTypes: true });
    const children = await Promise.all(
      entries.map(async (e): Promise<ContentsModel | null> => {
        if (isIgnoredName(e.name) || (!this._o.allowHidden && e.name.startsWith('.'))) return null;
        const childAbs = join(abs, e.name);
        const childApi = api ? `${api}/${e.name}` : e.name;
        try {
          if (e.isSymbolicLink()) {
            // Links out of the root are not ours to show; broken links are skipped.
            const real = await realpath(childAbs);
            if (real !== root && !real.startsWith(root + sep)) return null;
          } else if (!e.isFile() && !e.isDirectory()) {
            return null; // sockets, fifos, devices
          }
          const cst = await stat(childAbs);
          if (!cst.isFile() && !cst.isDirectory()) return null;
          const type = cst.isDirectory() ? 'directory' : e.name.endsWith('.ipynb') ? 'notebook' : 'file';
          return await this._baseModel(childApi, childAbs, cst, type);
        } catch {
          return null; // vanished meanwhile, or a permission problem: not listed
        }
      })
    );
    return Object.assign(model, { content: children.filter((c): c is ContentsModel => c !== null), format: 'json' as const });
  }
}

async function statOr404(abs: string, api: string): Promise<Stats> {
  try {
    return await stat(abs);
  } catch {
    throw new JupyterError(404, `file or directory does not exist: "${api}"`);
  }
}

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(() => true, () => false);
}
