/**
 * File checkpoints as jupyter_server's `FileCheckpoints` keeps them, so a notebook moved
 * between our gateway and Jupyter keeps its checkpoint: one per file, id `checkpoint`,
 * stored as `<dir>/.ipynb_checkpoints/<stem>-checkpoint<ext>`.
 */
import { copyFile, mkdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, sep } from 'node:path';
import { JupyterError } from '../../errors';
import { tempPathFor } from './atomic';
import type { CheckpointModel } from './provider';

export const CHECKPOINT_ID = 'checkpoint';
export const CHECKPOINT_DIR = '.ipynb_checkpoints';

export class FsCheckpoints {
  /** @param _realRoot - the contents root, symlinks resolved. */
  constructor(private readonly _realRoot: string) {}

  /** Where the checkpoint of the file at `abs` lives. */
  pathFor(abs: string): string {
    const name = basename(abs);
    const ext = extname(name);
    return join(dirname(abs), CHECKPOINT_DIR, `${name.slice(0, name.length - ext.length)}-${CHECKPOINT_ID}${ext}`);
  }

  /** Copies the file into its checkpoint (atomically), replacing the previous one. */
  async create(abs: string): Promise<CheckpointModel> {
    const cp = this.pathFor(abs);
    await mkdir(dirname(cp), { recursive: true });
    await this._assertInside(dirname(cp));
    const tmp = tempPathFor(cp);
    try {
      await copyFile(abs, tmp);
      await rename(tmp, cp);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return this._model(cp);
  }

  async list(abs: string): Promise<CheckpointModel[]> {
    try {
      return [await this._model(this.pathFor(abs))];
    } catch {
      return [];
    }
  }

  /** Copies the checkpoint back over the file (atomically). */
  async restore(abs: string, id: string): Promise<void> {
    const cp = await this._existing(abs, id);
    const tmp = tempPathFor(abs);
    try {
      await copyFile(cp, tmp);
      await rename(tmp, abs);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async delete(abs: string, id: string): Promise<void> {
    await rm(await this._existing(abs, id));
  }

  /** Moves a file's checkpoint along with a rename; nothing to do when it has none. */
  async rename(oldAbs: string, newAbs: string): Promise<void> {
    const from = this.pathFor(oldAbs);
    if (!(await exists(from))) return;
    const to = this.pathFor(newAbs);
    await mkdir(dirname(to), { recursive: true });
    await this._assertInside(dirname(to));
    await rename(from, to);
  }

  /** Removes a file's checkpoint, if any. */
  async deleteAll(abs: string): Promise<void> {
    await rm(this.pathFor(abs), { force: true });
  }

  private async _existing(abs: string, id: string): Promise<string> {
    const cp = this.pathFor(abs);
    if (id !== CHECKPOINT_ID || !(await exists(cp))) throw new JupyterError(404, `Checkpoint "${id}" does not exist for this file`);
    await this._assertInside(dirname(cp));
    return cp;
  }

  private async _model(cp: string): Promise<CheckpointModel> {
    const st = await stat(cp);
    return { id: CHECKPOINT_ID, last_modified: st.mtime.toISOString() };
  }

  /** A `.ipynb_checkpoints` symlinked out of the root is not written through. */
  private async _assertInside(dir: string): Promise<void> {
    const real = await realpath(dir);
    if (real !== this._realRoot && !real.startsWith(this._realRoot + sep)) {
      throw new JupyterError(400, `the checkpoint directory ${CHECKPOINT_DIR} points outside the root directory`);
    }
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
