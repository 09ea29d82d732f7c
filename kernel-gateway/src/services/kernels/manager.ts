/**
 * KernelManager: the running kernels of this gateway, their client sessions, and the
 * models the REST API returns (jupyter_server `services/kernels/kernelmanager.py`).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import type { WebSocket } from 'ws';
import type { Logger } from '../../logger';
import { JupyterError, notFound } from '../../errors';
import type { KernelSpecEntry, KernelSpecManager } from '../kernelspecs/manager';
import type { IDisposable } from '../../../../server/src/lifecycle';
import type { IActivitySource } from '../../platform/activity/tracker';
import { Kernel, type ExecutionState } from './kernel';
import { KernelClient, type KernelClientOptions } from './kernel-client';
import { launchEnv } from './kernel-process';
import { SpareKernels, type Spare } from './spare-kernels';
import { handOut, startOnlyVariable } from './spare-handout';

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
  /** Spare kernels of the default kernelspec kept started for the next request (0: none). */
  prespawn: number;
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
  private readonly _spares: SpareKernels;
  private _disposed = false;

  constructor(
    private readonly _specs: KernelSpecManager,
    private readonly _opts: KernelManagerOptions,
    private readonly _log: Logger
  ) {
    this._spares = new SpareKernels({
      count: _opts.prespawn,
      spec: async () => {
        const name = await _specs.defaultName();
        return name ? _specs.get(name) : undefined;
      },
      create: async (spec, onDied) => this._newKernel(spec, await _opts.resolveCwd(''), {}, onDied),
      busy: () => this.busy(),
      startTimeoutMs: _opts.startTimeoutMs,
      log: _log.child({ spare: true })
    });
  }

  /** Starts keeping spare kernels, in the background (after the server listens). */
  startSpares(): void {
    this._spares.start();
  }

  /** Spare kernels ready to be handed out (not part of the API: tests and diagnostics). */
  get readySpares(): number {
    return this._spares.readyCount;
  }

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
    const cwd = await this._opts.resolveCwd(path ?? '');
    const spare = await this._tracked(this._fromSpare(spec, cwd, env));
    if (spare) return modelOf(spare);
    if (this._disposed) throw new JupyterError(503, 'The kernel gateway is shutting down');
    const kernel = await this._newKernel(spec, cwd, env);
    this._kernels.set(kernel.id, kernel);
    try {
      await this._tracked(kernel.start());
    } catch (err) {
      this._kernels.delete(kernel.id);
      await kernel.shutdown().catch(() => undefined);
      throw new JupyterError(500, `Kernel ${spec.name} failed to start: ${(err as Error).message}`);
    }
    // Spares that gave up after failures get another chance once the default spec works again.
    void kernel.ready.then(() => this._spares.revive(), () => undefined);
    return modelOf(kernel);
  }

  /**
   * The request's kernel made from a spare, or null when there is none ready (or about to be),
   * the request needs a new process, or the spare could not be handed out.
   */
  private async _fromSpare(spec: KernelSpecEntry, cwd: string, env: Record<string, string>): Promise<Kernel | null> {
    // Exactly what a fresh start's environment would differ by (our own variables win over the request's there too).
    const launched = launchEnv(spec, {});
    const changes = Object.fromEntries(Object.entries(launchEnv(spec, env)).filter(([k, v]) => launched[k] !== v));
    const variable = startOnlyVariable(changes, launched);
    if (variable) {
      this._log.debug('not using a spare kernel: a variable only a new process takes on', { variable });
      return null;
    }
    const spare: Spare | null = await this._spares.take(spec);
    if (!spare) return null;
    const kernel = spare.kernel;
    const why = await handOut(spare, { cwd, env: changes }, Math.min(HAND_OUT_TIMEOUT_MS, this._opts.startTimeoutMs));
    if (why !== null) {
      this._spares.discard(spare, why);
      this._log.info('spare kernel not usable; starting a fresh one', { kernel: kernel.id.slice(0, 8), reason: why });
      return null;
    }
    kernel.relaunchIn(cwd, env);
    this._spares.handedOut(spare);
    this._kernels.set(kernel.id, kernel);
    kernel.touch();
    this._log.info('kernel started from a spare', { kernel: kernel.id.slice(0, 8), name: spec.name });
    return kernel;
  }

  /** A kernel of `spec`, not started; its activity counts only while it is in the API's list. */
  private async _newKernel(spec: KernelSpecEntry, cwd: string, env: Record<string, string>, onDied?: (k: Kernel) => boolean): Promise<Kernel> {
    await mkdir(this._opts.runtimeDir, { recursive: true, mode: 0o700 });
    const onActivity = this._opts.onActivity;
    return new Kernel({
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
      onActivity: onActivity
        ? k => {
          if (this._kernels.get(k.id) === k) onActivity();
        }
        : undefined,
      onDied
    });
  }

  /** Runs part of a start so that `dispose()` waits for it. */
  private async _tracked<T>(p: Promise<T>): Promise<T> {
    this._starting.add(p);
    try {
      return await p;
    } finally {
      this._starting.delete(p);
    }
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

  /** Shuts down every kernel, spares included. Idempotent. */
  async dispose(): Promise<void> {
    this._disposed = true;
    await this._spares.dispose();
    await Promise.allSettled([...this._starting]);
    // Spares that hand-outs under way gave back.
    await this._spares.stopped();
    await Promise.allSettled([...this._kernels.keys()].map(id => this._shutdown(id)));
  }
}

/** A hand-out runs a few lines of Python: anything slower means the spare is in trouble. */
const HAND_OUT_TIMEOUT_MS = 5_000;

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
