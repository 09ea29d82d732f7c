/**
 * KernelManager: the running kernels of this gateway, their client sessions, and the
 * models the REST API returns (jupyter_server `services/kernels/kernelmanager.py`).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import type { WebSocket } from 'ws';
import type { Logger } from '../../logger';
import { JupyterError, notFound } from '../../errors';
import type { KernelSpecManager } from '../kernelspecs/manager';
import type { IDisposable } from '../../../../server/src/lifecycle';
import type { IActivitySource } from '../../platform/activity/tracker';
import { Kernel, type ExecutionState } from './kernel';
import { KernelClient, type KernelClientOptions } from './kernel-client';

/** The REST model of a kernel (jupyter_server api.yaml `Kernel`). */
export interface KernelModel {
  id: string;
  name: string;
  last_activity: string;
  execution_state: ExecutionState;
  connections: number;
}

export interface KernelManagerOptions extends KernelClientOptions {
  runtimeDir: string;
  transport: 'ipc' | 'tcp';
  startTimeoutMs: number;
  shutdownGraceMs: number;
  restartLimit: number;
  restartWindowMs: number;
  /** Resolves an API path (relative to the root) to a directory for the kernel's cwd. */
  resolveCwd: (path: string) => Promise<string>;
  onActivity?: () => void;
  /** Told of each start/interrupt/restart/shutdown and how it ended (jupyter_server's kernel_actions events). */
  onAction?: (event: KernelActionEvent) => void;
}

/** One kernel action, as jupyter_server's `kernel_actions` event carries it. */
export interface KernelActionEvent {
  action: 'start' | 'interrupt' | 'restart' | 'shutdown';
  status: 'success' | 'error';
  kernel_id?: string;
  kernel_name?: string;
  status_code?: number;
  msg?: string;
}

export class KernelManager implements IActivitySource, IDisposable {
  private readonly _kernels = new Map<string, Kernel>();
  private readonly _clients = new Map<string, KernelClient>();
  private readonly _starting = new Set<Promise<unknown>>();

  constructor(
    private readonly _specs: KernelSpecManager,
    private readonly _opts: KernelManagerOptions,
    private readonly _log: Logger
  ) {}

  get size(): number {
    return this._kernels.size;
  }

  list(): KernelModel[] {
    return [...this._kernels.values()].map(modelOf);
  }

  has(id: string): boolean {
    return this._kernels.has(id);
  }

  /** The kernel with this id. @throws 404 when there is none. */
  get(id: string): Kernel {
    const k = this._kernels.get(id);
    if (!k) throw notFound(`Kernel does not exist: ${id}`);
    return k;
  }

  model(id: string): KernelModel {
    return modelOf(this.get(id));
  }

  kernels(): Iterable<Kernel> {
    return this._kernels.values();
  }

  /** Open kernel WebSockets (IActivitySource). */
  connections(): number {
    let n = 0;
    for (const k of this._kernels.values()) n += k.connections;
    return n;
  }

  /** Whether any kernel is running code (IActivitySource). */
  busy(): boolean {
    for (const k of this._kernels.values()) if (k.executionState === 'busy') return true;
    return false;
  }

  /**
   * Starts a kernel; it answers `starting` until ready (clients' messages wait for it).
   * @param name - kernelspec name; the default spec when empty.
   * @param path - API path of the notebook or directory; the kernel's cwd is its directory.
   * @param env - extra environment variables (jupyter_server accepts `JPY_*`-style extras).
   */
  async start(name: string | undefined, path: string | undefined, env: Record<string, string> = {}): Promise<KernelModel> {
    return this._reported('start', undefined, name, async () => {
      const model = await this._start(name, path, env);
      return { result: model, kernelId: model.id, kernelName: model.name };
    });
  }

  private async _start(name: string | undefined, path: string | undefined, env: Record<string, string>): Promise<KernelModel> {
    const specName = name || (await this._specs.defaultName());
    const spec = specName ? await this._specs.get(specName) : undefined;
    if (!spec) {
      const names = [...(await this._specs.all()).keys()];
      throw new JupyterError(404, `No such kernel named ${specName ?? '(default)'}; available: ${names.join(', ') || 'none'}`);
    }
    await mkdir(this._opts.runtimeDir, { recursive: true, mode: 0o700 });
    const cwd = await this._opts.resolveCwd(path ?? '');
    const kernel = new Kernel({
      id: randomUUID(),
      spec,
      cwd,
      env,
      runtimeDir: this._opts.runtimeDir,
      transport: this._opts.transport,
      startTimeoutMs: this._opts.startTimeoutMs,
      shutdownGraceMs: this._opts.shutdownGraceMs,
      restartLimit: this._opts.restartLimit,
      restartWindowMs: this._opts.restartWindowMs,
      log: this._log,
      onActivity: this._opts.onActivity ? () => this._opts.onActivity!() : undefined
    });
    this._kernels.set(kernel.id, kernel);
    const starting = kernel.start();
    this._starting.add(starting);
    try {
      await starting;
    } catch (err) {
      this._kernels.delete(kernel.id);
      await kernel.shutdown().catch(() => undefined);
      throw new JupyterError(500, `Kernel ${spec.name} failed to start: ${(err as Error).message}`);
    } finally {
      this._starting.delete(starting);
    }
    return modelOf(kernel);
  }

  async interrupt(id: string): Promise<void> {
    await this._reported('interrupt', id, undefined, async () => ({ result: await this.get(id).interrupt() }));
  }

  async restart(id: string): Promise<KernelModel> {
    return this._reported('restart', id, undefined, async () => {
      const kernel = this.get(id);
      await kernel.restart();
      return { result: modelOf(kernel) };
    });
  }

  /** Shuts a kernel down and closes its clients. @throws 404 when unknown. */
  async shutdown(id: string): Promise<void> {
    await this._reported('shutdown', id, undefined, async () => ({ result: await this._shutdown(id) }));
  }

  /** Runs an action and reports how it ended to `onAction`. */
  private async _reported<T>(
    action: KernelActionEvent['action'],
    id: string | undefined,
    name: string | undefined,
    fn: () => Promise<{ result: T; kernelId?: string; kernelName?: string }>
  ): Promise<T> {
    const kernelName = name ?? (id ? this._kernels.get(id)?.name : undefined);
    try {
      const { result, kernelId, kernelName: started } = await fn();
      this._opts.onAction?.({ action, status: 'success', kernel_id: kernelId ?? id, kernel_name: started ?? kernelName });
      return result;
    } catch (err) {
      this._opts.onAction?.({
        action, status: 'error', kernel_id: id, kernel_name: kernelName,
        status_code: err instanceof JupyterError ? err.status : 500, msg: (err as Error).message
      });
      throw err;
    }
  }

  private async _shutdown(id: string): Promise<void> {
    const kernel = this.get(id);
    this._kernels.delete(id);
    for (const [key, client] of this._clients) {
      if (client.kernel === kernel) {
        client.dispose();
        this._clients.delete(key);
      }
    }
    await kernel.shutdown();
  }

  /**
   * Attaches a WebSocket to the kernel's client session `sessionId`, creating it if new.
   */
  connect(kernel: Kernel, sessionId: string, ws: WebSocket): void {
    const key = `${kernel.id}/${sessionId}`;
    let client = this._clients.get(key);
    if (!client) {
      client = new KernelClient(kernel, sessionId, this._opts, this._log.child({ kernel: kernel.id.slice(0, 8), session: sessionId.slice(0, 8) }), c => {
        if (this._clients.get(key) === c) this._clients.delete(key);
        c.dispose();
      });
      this._clients.set(key, client);
    }
    client.attach(ws);
    kernel.touch();
  }

  /** Shuts down every kernel. */
  async dispose(): Promise<void> {
    await Promise.allSettled([...this._starting]);
    await Promise.allSettled([...this._kernels.keys()].map(id => this._shutdown(id)));
  }
}

function modelOf(k: Kernel): KernelModel {
  return {
    id: k.id,
    name: k.name,
    last_activity: k.lastActivity.toISOString(),
    execution_state: k.executionState,
    connections: k.connections
  };
}

/** Checks that a directory exists; used to resolve a kernel's cwd. */
export async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}
