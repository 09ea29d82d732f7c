/**
 * One running kernel: its process, the gateway's own sockets to it (iopub fan-out, control,
 * a shell for readiness nudges), its status, and the clients attached to it.
 *
 * #### Notes
 * - iopub is subscribed once per kernel and fanned out to every client, each encoded once
 *   per wire protocol in use.
 * - The kernel is `ready` when iopub has delivered a message in answer to a
 *   `kernel_info_request` nudge: only then is the SUB socket surely subscribed, so client
 *   messages wait for it and no output is lost to ZeroMQ's slow-joiner effect.
 * - An exit we did not ask for triggers an automatic restart with `restarting` on iopub;
 *   too many in a row and the kernel is `dead`, as jupyter_client's restarter does.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from '../../logger';
import type { KernelSpecEntry } from '../kernelspecs/manager';
import { ChannelSocket } from './zmq-channels';
import {
  cleanupConnection, endpoint, launchKernel, newConnectionInfo, signalKernel, type ConnectionInfo
} from './kernel-process';
import { fromFrames, peekHeader, Signer, toFrames, type RawMessage } from './wire';
import { newMessage, statusMessage } from './messages';
import type { Channel } from './ws-serialize';

export type ExecutionState = 'starting' | 'idle' | 'busy' | 'restarting' | 'autorestarting' | 'dead' | 'unknown';

/** What a kernel needs from its environment. */
export interface KernelOptions {
  id?: string;
  spec: KernelSpecEntry;
  cwd: string;
  env: Record<string, string>;
  runtimeDir: string;
  transport: 'ipc' | 'tcp';
  startTimeoutMs: number;
  shutdownGraceMs: number;
  /** Automatic restarts allowed within `restartWindowMs` before the kernel is declared dead. */
  restartLimit: number;
  restartWindowMs: number;
  log: Logger;
  /** Called for every message in or out, for the activity feed. */
  onActivity?: (kernel: Kernel) => void;
  /**
   * Told of an exit nobody asked for, once the kernel was ready. Returning true takes the
   * death over: no automatic restart, the kernel is `dead` (spares are replaced by their pool).
   */
  onDied?: (kernel: Kernel) => boolean;
}

/** A consumer of the kernel's iopub stream (one per WebSocket session). */
export interface IopubSink {
  /** `cache` is shared by all sinks of one fan-out so each encoding is made once. */
  deliver(channel: Channel, msg: RawMessage, msgId: string, msgType: string, cache?: { v1?: Buffer; v1Parts?: Buffer[]; legacy?: string | Buffer }): void;
}

/** Spacing of readiness nudges once iopub is connected, and how many are sent that fast. */
const FAST_NUDGE_MS = 20;
const FAST_NUDGES = 25;

export class Kernel {
  readonly id: string;
  readonly name: string;
  readonly info: Promise<ConnectionInfo>;
  lastActivity = new Date();
  executionState: ExecutionState = 'starting';
  /** Number of open WebSocket connections. */
  connections = 0;

  private readonly _sinks = new Set<IopubSink>();
  private readonly _session = randomUUID();
  private readonly _log: Logger;
  private _info!: ConnectionInfo;
  private _signer!: Signer;
  private _connectionFile = '';
  private _process: ChildProcess | null = null;
  private _iopub: ChannelSocket | null = null;
  private _shell: ChannelSocket | null = null;
  private _control: ChannelSocket | null = null;
  private _ready!: Promise<void>;
  private _isReady = false;
  /** Nudges still to send at `FAST_NUDGE_MS` since iopub's handshake. */
  private _fastNudges = 0;
  private _wakeNudge: (() => void) | null = null;
  /** Our own shell requests (readiness nudges, kernel_info, silent executes): their iopub status is not the user's. */
  private _ownIds = new Set<string>();
  private _onReady: (() => void) | null = null;
  private _onReadyFail: ((err: Error) => void) | null = null;
  private _shuttingDown = false;
  private _restarts: number[] = [];
  private readonly _pending = new Map<string, (content: Record<string, unknown> | null) => void>();

  constructor(private readonly _opts: KernelOptions) {
    this.id = _opts.id ?? randomUUID();
    this.name = _opts.spec.name;
    this._log = _opts.log.child({ kernel: this.id.slice(0, 8) });
    this.info = newConnectionInfo(_opts.transport, _opts.runtimeDir, this.id, this.name).then(info => {
      this._info = info;
      this._signer = new Signer(info.key, info.signature_scheme);
      this._connectionFile = join(_opts.runtimeDir, `kernel-${this.id}.json`);
      return info;
    });
  }

  get signer(): Signer {
    return this._signer;
  }

  /**
   * Whether messages from the kernel have their signatures checked.
   *
   * #### Notes
   * Over IPC the kernel's sockets live in our 0700 runtime directory: nothing but the
   * kernel we started can be on the other end, and checking every byte of its output costs
   * about 1 ms per MB (jupyter_server's v1 path does not check them either). Over TCP another
   * local process could take a port between a kernel's death and its restart: checked.
   */
  get verifyIncoming(): boolean {
    return this._opts.transport === 'tcp';
  }

  get isReady(): boolean {
    return this._isReady;
  }

  /** Resolves once the kernel answers and iopub is flowing. */
  get ready(): Promise<void> {
    return this._ready;
  }

  get interruptMode(): 'signal' | 'message' {
    return this._opts.spec.spec.interrupt_mode ?? 'signal';
  }

  /** The endpoint URL of a channel, for per-client sockets. */
  url(channel: 'shell' | 'control' | 'stdin'): string {
    return endpoint(this._info, channel);
  }

  /**
   * Starts the process. Readiness continues in the background (`ready`), as with
   * jupyter_server: the REST call returns with `starting`, and client messages wait for it.
   * A kernel that never becomes ready is declared `dead` and its process killed.
   */
  async start(): Promise<void> {
    await this.info;
    this._connectSockets();
    await this._launch();
    void this._ready.then(
      () => this._log.info('kernel started', { name: this.name, pid: this._process?.pid }),
      err => this._startFailed(err as Error)
    );
  }

  addSink(sink: IopubSink): void {
    this._sinks.add(sink);
  }

  removeSink(sink: IopubSink): void {
    this._sinks.delete(sink);
  }

  touch(): void {
    this.lastActivity = new Date();
    this._opts.onActivity?.(this);
  }

  /**
   * Where later (re)starts run. A spare kernel handed out to a request takes the request's
   * directory and environment, so that a restart comes back as a fresh start would.
   */
  relaunchIn(cwd: string, env: Record<string, string>): void {
    this._opts.cwd = cwd;
    this._opts.env = env;
  }

  /**
   * Asks for `kernel_info` on the gateway's own shell socket.
   * @returns the reply's content, or null when none came within `timeoutMs` or the process exited.
   */
  kernelInfo(timeoutMs: number): Promise<Record<string, unknown> | null> {
    return this._request(this._shell!, 'kernel_info_request', {}, timeoutMs);
  }

  /**
   * Runs code on the gateway's own shell socket, silently: no execution count, no history, no
   * `execute_input`, and its status messages never reach clients or the execution state.
   * @returns the `execute_reply` content, or null on timeout or exit.
   */
  executeSilently(code: string, timeoutMs: number): Promise<Record<string, unknown> | null> {
    const content = { code, silent: true, store_history: false, user_expressions: {}, allow_stdin: false, stop_on_error: false };
    return this._request(this._shell!, 'execute_request', content, timeoutMs);
  }

  /** Interrupts the running cell, by signal or control message per the kernelspec. */
  async interrupt(): Promise<void> {
    this._log.debug('interrupting', { mode: this.interruptMode });
    if (this.interruptMode === 'message') {
      await this._request(this._control!, 'interrupt_request', {}, 5_000);
    } else if (this._process) {
      signalKernel(this._process, 'SIGINT');
    }
    this.touch();
  }

  /**
   * Restarts the kernel process, keeping its id and endpoints (clients stay connected).
   *
   * #### Notes
   * Like jupyter_server, a requested restart publishes no `restarting` status: clients
   * treat that status as an automatic restart and reconnect on their own, while the
   * client that asked already does.
   */
  async restart(): Promise<void> {
    this._setState('restarting', false);
    await this._stopProcess(true);
    await this._launch();
    await this._ready;
    this._log.info('kernel restarted');
  }

  /** Shuts the kernel down: shutdown_request, grace, then SIGKILL. Idempotent. */
  async shutdown(): Promise<void> {
    if (this._shuttingDown) return;
    this._shuttingDown = true;
    // A start still waiting for readiness ends here (and its timer with it).
    if (!this._isReady) this._onReadyFail?.(new Error(`kernel "${this.name}" was shut down before it was ready`));
    await this.info;
    await this._stopProcess(false);
    this._iopub?.close();
    this._shell?.close();
    this._control?.close();
    await cleanupConnection(this._info, this._connectionFile);
    this.executionState = 'dead';
    this._log.info('kernel shut down');
  }

  private _startFailed(err: Error): void {
    if (this._shuttingDown || this.executionState === 'dead') return;
    this._log.error('kernel did not become ready', { err });
    const child = this._process;
    this._process = null;
    if (child) signalKernel(child, 'SIGKILL');
    this._setState('dead', true);
  }

  private _connectSockets(): void {
    const identity = `nbkg-${this._session}`;
    this._iopub = ChannelSocket.subscriber(endpoint(this._info, 'iopub'), this._log, f => this._onIopub(f), () => this._onIopubHandshake());
    this._shell = ChannelSocket.dealer(endpoint(this._info, 'shell'), identity, this._log, f => this._onOwnReply(f));
    this._control = ChannelSocket.dealer(endpoint(this._info, 'control'), identity, this._log, f => this._onOwnReply(f));
  }

  private async _launch(): Promise<void> {
    this._resetReady();
    const child = await launchKernel({
      spec: this._opts.spec,
      info: this._info,
      connectionFile: this._connectionFile,
      cwd: this._opts.cwd,
      env: this._opts.env
    });
    this._process = child;
    child.once('exit', (code, signal) => this._onExit(child, code, signal));
    void this._nudge(child);
  }

  private _resetReady(): void {
    this._isReady = false;
    this._ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`kernel "${this.name}" did not become ready within ${this._opts.startTimeoutMs} ms`));
      }, this._opts.startTimeoutMs);
      this._onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      this._onReadyFail = err => {
        clearTimeout(timer);
        reject(err);
      };
    });
    // Nobody may be awaiting this particular launch (automatic restarts).
    this._ready.catch(() => undefined);
  }

  /**
   * Sends `kernel_info_request`s until iopub delivers something. Requests sent before the
   * kernel is up are queued by ZeroMQ and answered at once when it binds, usually before our
   * SUB is subscribed, so their iopub status is lost: the nudges that count are the ones
   * after iopub's handshake, which come every 20 ms (at most 25 of them) instead of waiting
   * out the back-off (before, a kernel that was up was noticed 150–350 ms late).
   */
  private async _nudge(child: ChildProcess): Promise<void> {
    let delay = 50;
    while (!this._isReady && this._process === child && !this._shuttingDown) {
      const { msgId, msg } = newMessage('kernel_info_request', {}, this._session);
      this._ownIds.add(msgId);
      this._shell!.send(toFrames(msg, this._signer));
      await new Promise<void>(resolve => {
        const timer = setTimeout(done, this._fastNudges > 0 ? FAST_NUDGE_MS : delay);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this._wakeNudge = done;
      });
      this._wakeNudge = null;
      if (this._fastNudges > 0) this._fastNudges--;
      else delay = Math.min(delay * 2, 1_000);
    }
  }

  private _onIopubHandshake(): void {
    if (this._isReady) return;
    this._fastNudges = FAST_NUDGES;
    // The subscription goes out right after the handshake; give it a moment before nudging.
    setTimeout(() => this._wakeNudge?.(), 5).unref();
  }

  private _onIopub(frames: Buffer[]): void {
    const { msg } = fromFrames(frames, this._signer, this.verifyIncoming);
    const head = peekHeader(msg.header);
    if (!this._isReady) {
      this._isReady = true;
      if (this.executionState === 'starting' || this.executionState === 'restarting') this.executionState = 'idle';
      this._onReady?.();
    }
    if (head.msg_type === 'status') {
      const parent = msg.parentHeader.length > 2 ? (JSON.parse(msg.parentHeader.toString()) as { msg_id?: string }) : {};
      const state = (JSON.parse(msg.content.toString()) as { execution_state?: ExecutionState }).execution_state;
      // Our own requests are neither client traffic nor the user's execution state.
      if (parent.msg_id && this._ownIds.has(parent.msg_id)) {
        if (state === 'idle') this._ownIds.delete(parent.msg_id);
        return;
      }
      if (state) this.executionState = state;
    }
    this.touch();
    const cache = {};
    for (const sink of this._sinks) sink.deliver('iopub', msg, head.msg_id, head.msg_type, cache);
  }

  private _onOwnReply(frames: Buffer[]): void {
    const { msg } = fromFrames(frames, this._signer, this.verifyIncoming);
    const parent = JSON.parse(msg.parentHeader.toString()) as { msg_id?: string };
    const resolve = parent.msg_id ? this._pending.get(parent.msg_id) : undefined;
    if (resolve) {
      this._pending.delete(parent.msg_id!);
      resolve(JSON.parse(msg.content.toString()) as Record<string, unknown>);
    }
  }

  /** Sends a request of our own; resolves with the reply's content, or null on timeout or exit. */
  private _request(sock: ChannelSocket, type: string, content: Record<string, unknown>, timeoutMs: number): Promise<Record<string, unknown> | null> {
    const { msgId, msg } = newMessage(type, content, this._session);
    if (sock === this._shell) this._ownIds.add(msgId);
    return new Promise(resolve => {
      const timer = setTimeout(() => {
        this._pending.delete(msgId);
        resolve(null);
      }, timeoutMs);
      this._pending.set(msgId, c => {
        clearTimeout(timer);
        resolve(c);
      });
      sock.send(toFrames(msg, this._signer));
    });
  }

  /** A process that exited answers nothing more: whoever waits on it hears so now. */
  private _settlePending(): void {
    const waiting = [...this._pending.values()];
    this._pending.clear();
    for (const resolve of waiting) resolve(null);
  }

  /** Asks the process to exit, waits the grace period, then kills its process group. */
  private async _stopProcess(restart: boolean): Promise<void> {
    const child = this._process;
    this._process = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>(resolve => child.once('exit', () => resolve()));
    void this._request(this._control!, 'shutdown_request', { restart }, this._opts.shutdownGraceMs);
    const timer = setTimeout(() => signalKernel(child, 'SIGKILL'), this._opts.shutdownGraceMs);
    await exited;
    clearTimeout(timer);
    // Children the kernel left in its process group go with it.
    signalKernel(child, 'SIGKILL');
  }

  private _onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this._process !== child || this._shuttingDown) return;
    this._process = null;
    this._settlePending();
    if (!this._isReady) {
      // It never came up: report to whoever is starting it instead of looping.
      this._log.error('kernel exited before it was ready', { code, signal });
      this._setState('dead', true);
      this._onReadyFail?.(new Error(`kernel "${this.name}" exited (code ${code}, signal ${signal}) before it was ready`));
      return;
    }
    this._log.warn('kernel died', { code, signal });
    if (this._opts.onDied?.(this)) {
      this._setState('dead', true);
      return;
    }
    const now = Date.now();
    this._restarts = this._restarts.filter(t => now - t < this._opts.restartWindowMs);
    if (this._restarts.length >= this._opts.restartLimit) {
      this._setState('dead', true);
      this._log.error('kernel died too often; not restarting', { restarts: this._restarts.length });
      return;
    }
    this._restarts.push(now);
    this._setState('restarting', true);
    void this._launch()
      .then(() => this._ready)
      .then(() => this._log.info('kernel restarted automatically'))
      .catch(err => {
        this._log.error('automatic restart failed', { err });
        this._setState('dead', true);
      });
  }

  private _setState(state: ExecutionState, broadcast: boolean): void {
    this.executionState = state;
    if (!broadcast) return;
    const msg = statusMessage(state as 'restarting' | 'dead', this._session);
    const head = peekHeader(msg.header);
    for (const sink of this._sinks) sink.deliver('iopub', msg, head.msg_id, 'status');
  }
}
