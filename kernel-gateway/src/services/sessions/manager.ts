/**
 * SessionManager: which kernel serves which document (jupyter_server
 * `services/sessions/sessionmanager.py`), kept in memory: sessions live exactly as long as
 * this gateway and its kernels do.
 *
 * #### Notes
 * - One session per path: creating a session for a path that has one returns it, as
 *   jupyter_server does; concurrent creates for one path share one kernel.
 * - A session whose kernel is gone (shut down through `/api/kernels`, or dead) is dropped
 *   the next time it is looked at, as jupyter_server's `row_to_model` does.
 */
import { randomUUID } from 'node:crypto';
import { JupyterError } from '../../errors';
import type { KernelManager, KernelModel } from '../kernels/manager';

/** The REST model of a session (jupyter_server api.yaml `Session`). */
export interface SessionModel {
  id: string;
  path: string;
  name: string;
  type: string;
  kernel: KernelModel;
  /** Kept for clients of the pre-2016 API, as jupyter_server does. */
  notebook: { path: string; name: string };
}

/** Which kernel a new or changed session gets: an existing one by id, or a new one by name. */
export type KernelChoice = { id: string } | { name: string | undefined };

interface Record_ {
  id: string;
  path: string;
  name: string;
  type: string;
  kernelId: string;
}

export class SessionManager {
  private readonly _sessions = new Map<string, Record_>();
  private readonly _creating = new Map<string, Promise<SessionModel>>();

  constructor(private readonly _kernels: KernelManager) {}

  list(): SessionModel[] {
    return [...this._sessions.values()].flatMap(r => this._modelOrPrune(r) ?? []);
  }

  /** @throws 404 when there is no such session (or its kernel is gone). */
  get(id: string): SessionModel {
    const r = this._sessions.get(id);
    const model = r && this._modelOrPrune(r);
    if (!model) throw new JupyterError(404, `Session not found: ${id}`);
    return model;
  }

  /** The session for `path`, creating it (and starting its kernel) when there is none. */
  async create(path: string, type: string, name: string, kernel: KernelChoice): Promise<SessionModel> {
    const existing = [...this._sessions.values()].find(r => r.path === path);
    const model = existing && this._modelOrPrune(existing);
    if (model) return model;
    const pending = this._creating.get(path);
    if (pending) return pending;
    const creating = this._create(path, type, name, kernel);
    this._creating.set(path, creating);
    try {
      return await creating;
    } finally {
      this._creating.delete(path);
    }
  }

  /**
   * Changes a session: rename its path/name/type, move it to another kernel by id, or give
   * it a new kernel by name. The kernel it leaves is shut down (as jupyter_server does).
   */
  async update(id: string, changes: { path?: string; name?: string; type?: string; kernel?: KernelChoice }): Promise<SessionModel> {
    const before = this.get(id);
    const r = this._sessions.get(id)!;
    let kernelId = r.kernelId;
    if (changes.kernel && 'id' in changes.kernel) {
      if (!this._kernels.has(changes.kernel.id)) throw new JupyterError(400, `No such kernel: ${changes.kernel.id}`);
      kernelId = changes.kernel.id;
    } else if (changes.kernel) {
      const env = { JPY_SESSION_NAME: changes.path ?? r.path };
      kernelId = (await this._kernels.start(changes.kernel.name, changes.path ?? r.path, env)).id;
    }
    if (changes.path !== undefined) r.path = changes.path;
    if (changes.name !== undefined) r.name = changes.name;
    if (changes.type !== undefined) r.type = changes.type;
    r.kernelId = kernelId;
    if (kernelId !== before.kernel.id && this._kernels.has(before.kernel.id)) {
      await this._kernels.shutdown(before.kernel.id);
    }
    return this.get(id);
  }

  /** Deletes a session and shuts its kernel down. @throws 404 when unknown. */
  async delete(id: string): Promise<void> {
    const r = this._sessions.get(id);
    if (!r) throw new JupyterError(404, `Session not found: ${id}`);
    this._sessions.delete(id);
    if (this._kernels.has(r.kernelId)) await this._kernels.shutdown(r.kernelId);
  }

  private async _create(path: string, type: string, name: string, kernel: KernelChoice): Promise<SessionModel> {
    let kernelId: string;
    if ('id' in kernel) {
      if (!this._kernels.has(kernel.id)) throw new JupyterError(400, `No such kernel: ${kernel.id}`);
      kernelId = kernel.id;
    } else {
      // ipykernel names `__session__` after this (jupyter_server `get_kernel_env`).
      kernelId = (await this._kernels.start(kernel.name, path, { JPY_SESSION_NAME: path })).id;
    }
    const r: Record_ = { id: randomUUID(), path, name, type, kernelId };
    this._sessions.set(r.id, r);
    return this.get(r.id);
  }

  private _modelOrPrune(r: Record_): SessionModel | null {
    if (!this._kernels.has(r.kernelId)) {
      this._sessions.delete(r.id);
      return null;
    }
    return {
      id: r.id,
      path: r.path,
      name: r.name,
      type: r.type,
      kernel: this._kernels.model(r.kernelId),
      notebook: { path: r.path, name: r.name }
    };
  }
}
