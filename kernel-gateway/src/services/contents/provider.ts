/**
 * The contents seam (jupyter_server's ContentsManager API, `services/contents/manager.py`):
 * one interface, implemented on the local filesystem (`~/work`, the default) and on object
 * storage (`obs` storage mode, where the file browser reads and writes an S3 prefix).
 *
 * Models are exactly `@jupyterlab/services` `Contents.IModel`; paths are API paths
 * (`/`-separated, relative to the root, no leading slash). Errors are `JupyterError`s
 * (404 missing, 409 exists/conflict, 400 invalid) so handlers stay thin.
 */
import type { Contents } from '@jupyterlab/services';

export type ContentsModel = Contents.IModel;

export interface GetOptions {
  /** Include `content` (directory listing, file text/base64, notebook JSON). */
  content: boolean;
  /** Expected type; a mismatch is a 400. */
  type?: Contents.ContentType;
  /** `text` or `base64` for files; guessed from the mimetype when absent. */
  format?: Contents.FileFormat;
  /** Return `hash`/`hash_algorithm` (jupyter_server ≥ 2.11). */
  hash?: boolean;
}

export interface SaveOptions {
  /**
   * JupyterLab's chunked upload: 1 for the first chunk, 2…n for the next ones, -1 for the
   * last. Absent for a whole-file save.
   */
  chunk?: number;
}

export interface CheckpointModel {
  id: string;
  last_modified: string;
}

export interface IContentsProvider {
  /** @throws 404 when the path does not exist. */
  get(path: string, opts: GetOptions): Promise<ContentsModel>;

  /**
   * Writes a file, notebook or directory from a (partial) model; notebooks are validated as
   * nbformat 4. Saves are atomic: a failed write never leaves a truncated file.
   */
  save(path: string, model: Partial<ContentsModel>, opts?: SaveOptions): Promise<ContentsModel>;

  /** Deletes a file or a directory (recursively). @throws 404 when missing. */
  delete(path: string): Promise<void>;

  /** Renames; @throws 409 when the destination exists. */
  rename(oldPath: string, newPath: string): Promise<ContentsModel>;

  /** Copies a file into a directory as `<name>-Copy<n>.<ext>`. */
  copy(fromPath: string, toDir: string): Promise<ContentsModel>;

  /** Creates `Untitled<n>.<ext>`, `Untitled<n>.ipynb` or `Untitled Folder <n>` in `dir`. */
  newUntitled(dir: string, opts: { type: Contents.ContentType; ext?: string }): Promise<ContentsModel>;

  createCheckpoint(path: string): Promise<CheckpointModel>;
  listCheckpoints(path: string): Promise<CheckpointModel[]>;
  restoreCheckpoint(path: string, checkpointId: string): Promise<void>;
  deleteCheckpoint(path: string, checkpointId: string): Promise<void>;
}
