/**
 * One terminal: a shell on a pty and the WebSockets viewing it, speaking terminado's
 * protocol (JSON arrays: `["stdin", text]`, `["set_size", rows, cols, …]` from clients;
 * `["setup", {}]`, `["stdout", text]`, `["disconnect", 1]` to them).
 *
 * #### Notes
 * - Several viewers share one terminal: output goes to all of them, a new viewer first
 *   gets the recent scrollback, and the pty takes the smallest size any viewer asked for
 *   (terminado's `resize_to_smallest`).
 * - Output is coalesced per event-loop turn, and the pty is paused while every viewer is
 *   far behind, so `cat bigfile` cannot buffer without bound in the gateway.
 */
import { readdir, readFile } from 'node:fs/promises';
import type { IPty } from 'node-pty';
import type { WebSocket, RawData } from 'ws';
import type { Logger } from '../../logger';

export interface TerminalOptions {
  /** Bytes of recent output replayed to a new viewer. */
  scrollbackBytes: number;
  /** Grace between SIGHUP and SIGKILL when the terminal is deleted. */
  killGraceMs: number;
  log: Logger;
  /** Called on input and output, for the activity feed. */
  onActivity(): void;
  /** Called once when the shell has exited and the terminal is gone. */
  onExit(terminal: Terminal): void;
}

/** The REST model (jupyter_server api.yaml `Terminal`). */
export interface TerminalModel {
  name: string;
  last_activity: string;
}

const HIGH_WATER = 4 << 20;
const LOW_WATER = 1 << 20;

export class Terminal {
  lastActivity = new Date();
  private readonly _clients = new Map<WebSocket, { rows: number; cols: number } | null>();
  private _scrollback: string[] = [];
  private _scrollbackBytes = 0;
  private _pending = '';
  private _flushScheduled = false;
  private _paused = false;
  private _exited = false;
  private readonly _exitedPromise: Promise<void>;

  constructor(
    readonly name: string,
    private readonly _pty: IPty,
    private readonly _o: TerminalOptions
  ) {
    let resolveExit!: () => void;
    this._exitedPromise = new Promise(r => (resolveExit = r));
    _pty.onData(data => this._onOutput(data));
    _pty.onExit(({ exitCode, signal }) => {
      this._exited = true;
      this._flush();
      _o.log.info('terminal exited', { terminal: name, exitCode, signal });
      for (const ws of this._clients.keys()) {
        send(ws, '["disconnect",1]');
        ws.close(1000, 'terminal exited');
      }
      this._clients.clear();
      resolveExit();
      _o.onExit(this);
    });
  }

  get model(): TerminalModel {
    return { name: this.name, last_activity: this.lastActivity.toISOString() };
  }

  get pid(): number {
    return this._pty.pid;
  }

  get connections(): number {
    return this._clients.size;
  }

  /** Adds a viewer: `setup`, then the scrollback, then live output. */
  attach(ws: WebSocket): void {
    if (this._exited) {
      send(ws, '["disconnect",1]');
      ws.close(1000, 'terminal exited');
      return;
    }
    this._flush();
    this._clients.set(ws, null);
    send(ws, '["setup",{}]');
    if (this._scrollbackBytes > 0) send(ws, JSON.stringify(['stdout', this._scrollback.join('')]));
    ws.on('message', (data, isBinary) => this._onMessage(ws, data, isBinary));
    ws.once('close', () => {
      this._clients.delete(ws);
      this._resizeToSmallest();
    });
    this._touch();
  }

  /**
   * Hangs the shell up, then kills what is left of its session after the grace. Resolves
   * once the shell has exited and its session is empty.
   *
   * #### Notes
   * The shell leads its own session (node-pty calls setsid), and an interactive shell puts
   * each job in its own process group: killing by session id reaches them all. Only a
   * process that left the session on purpose (setsid, daemons) survives, as it would a
   * closed SSH connection.
   */
  async kill(): Promise<void> {
    const sid = this._pty.pid;
    if (!this._exited) {
      signalGroup(sid, 'SIGHUP');
      const timer = setTimeout(() => void killSession(sid, 'SIGKILL'), this._o.killGraceMs);
      await this._exitedPromise;
      clearTimeout(timer);
    }
    await killSession(sid, 'SIGKILL');
  }

  private _onMessage(ws: WebSocket, data: RawData, isBinary: boolean): void {
    let msg: unknown;
    try {
      msg = JSON.parse(isBinary ? Buffer.from(data as Buffer).toString('utf8') : data.toString());
    } catch {
      this._o.log.warn('dropped a terminal message that is not JSON', { terminal: this.name });
      return;
    }
    if (!Array.isArray(msg) || typeof msg[0] !== 'string') return;
    switch (msg[0]) {
      case 'stdin':
        if (typeof msg[1] === 'string' && !this._exited) {
          this._pty.write(msg[1]);
          this._touch();
        }
        break;
      case 'set_size': {
        const rows = Number(msg[1]);
        const cols = Number(msg[2]);
        if (Number.isInteger(rows) && Number.isInteger(cols) && rows > 0 && cols > 0 && rows < 10_000 && cols < 10_000) {
          this._clients.set(ws, { rows, cols });
          this._resizeToSmallest();
        }
        break;
      }
      default:
        // terminado ignores other commands too (e.g. "disconnect" from old clients).
        break;
    }
  }

  private _resizeToSmallest(): void {
    if (this._exited) return;
    let rows = Infinity;
    let cols = Infinity;
    for (const size of this._clients.values()) {
      if (!size) continue;
      rows = Math.min(rows, size.rows);
      cols = Math.min(cols, size.cols);
    }
    if (rows === Infinity || (rows === this._pty.rows && cols === this._pty.cols)) return;
    try {
      this._pty.resize(cols, rows);
    } catch {
      /* the pty closed meanwhile */
    }
  }

  private _onOutput(data: string): void {
    this._pending += data;
    this._touch();
    if (!this._flushScheduled) {
      this._flushScheduled = true;
      setImmediate(() => this._flush());
    }
  }

  private _flush(): void {
    this._flushScheduled = false;
    if (this._pending === '') return;
    const text = this._pending;
    this._pending = '';
    this._remember(text);
    const frame = JSON.stringify(['stdout', text]);
    for (const ws of this._clients.keys()) send(ws, frame);
    this._applyBackpressure();
  }

  private _remember(text: string): void {
    this._scrollback.push(text);
    this._scrollbackBytes += text.length;
    while (this._scrollbackBytes > this._o.scrollbackBytes && this._scrollback.length > 1) {
      this._scrollbackBytes -= this._scrollback.shift()!.length;
    }
  }

  /** Pauses the shell's output while every viewer is far behind; resumes when one catches up. */
  private _applyBackpressure(): void {
    if (this._paused || this._clients.size === 0) return;
    const behind = (): boolean => [...this._clients.keys()].every(ws => ws.bufferedAmount > LOW_WATER);
    if (![...this._clients.keys()].every(ws => ws.bufferedAmount > HIGH_WATER)) return;
    this._paused = true;
    this._pty.pause();
    const check = (): void => {
      if (!this._exited && this._clients.size > 0 && behind()) {
        setTimeout(check, 10);
        return;
      }
      this._paused = false;
      if (!this._exited) this._pty.resume();
    };
    setTimeout(check, 10);
  }

  private _touch(): void {
    this.lastActivity = new Date();
    this._o.onActivity();
  }
}

function send(ws: WebSocket, frame: string): void {
  if (ws.readyState === ws.OPEN) ws.send(frame);
}

/** Signals every process whose session id is `sid` (Linux /proc). */
async function killSession(sid: number, signal: NodeJS.Signals): Promise<void> {
  const entries = await readdir('/proc').catch(() => [] as string[]);
  await Promise.all(
    entries.filter(e => /^\d+$/.test(e)).map(async pid => {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
      // Fields after the parenthesised command: state ppid pgrp session …
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[3]) === sid) {
        try {
          process.kill(Number(pid), signal);
        } catch {
          /* gone meanwhile */
        }
      }
    })
  );
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}
