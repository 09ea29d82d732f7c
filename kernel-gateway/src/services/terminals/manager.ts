/**
 * TerminalManager: the named terminals of this gateway (jupyter_server
 * `terminal/terminalmanager.py` over terminado's `NamedTermManager`), on node-pty.
 *
 * #### Notes
 * - Names are "1", "2", … (the lowest free number), or one the client picks.
 * - The shell is a login shell (`-l`, as jupyter_server starts it; `$SHELL` by default, see
 *   config `terminalShell`) in the root directory
 *   or a `cwd` under it, with `TERM=xterm-256color`; our own token is not in its env.
 * - node-pty is loaded on first use, so an agent whose native module is missing still
 *   serves kernels and files and reports terminals as unavailable (503).
 */
import { access } from 'node:fs/promises';
import { constants } from 'node:fs';
import type { IPty } from 'node-pty';
import type { IDisposable } from '../../../../server/src/lifecycle';
import type { Logger } from '../../logger';
import type { IActivitySource } from '../../platform/activity/tracker';
import { JupyterError } from '../../errors';
import { Terminal, type TerminalModel } from './terminal';

export interface TerminalManagerOptions {
  /** Resolves a `cwd` relative to the root; refuses paths escaping it. */
  resolveCwd(path: string): Promise<string>;
  rootDir: string;
  /** The shell command; empty picks bash, then sh (login shells). */
  shell: readonly string[];
  scrollbackBytes: number;
  killGraceMs: number;
  onActivity(): void;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

type PtyModule = typeof import('node-pty');

export class TerminalManager implements IActivitySource, IDisposable {
  private readonly _terminals = new Map<string, Terminal>();
  private _pty: Promise<PtyModule> | null = null;
  private _disposed = false;

  constructor(
    private readonly _o: TerminalManagerOptions,
    private readonly _log: Logger
  ) {}

  list(): TerminalModel[] {
    return [...this._terminals.values()].map(t => t.model);
  }

  /** @throws 404 when there is no such terminal. */
  get(name: string): Terminal {
    const t = this._terminals.get(name);
    if (!t) throw new JupyterError(404, `Terminal not found: ${name}`);
    return t;
  }

  connections(): number {
    let n = 0;
    for (const t of this._terminals.values()) n += t.connections;
    return n;
  }

  /**
   * Starts a terminal.
   * @param name - optional; "1", "2", … when absent.
   * @param cwd - optional API path of a directory under the root.
   * @throws 400 bad name, 409 name taken, 503 terminals unavailable.
   */
  async create(name?: string, cwd?: string): Promise<TerminalModel> {
    if (this._disposed) throw new JupyterError(503, 'the server is shutting down');
    if (name !== undefined && !NAME.test(name)) throw new JupyterError(400, `Terminal name "${name}" is invalid; use 1-64 letters, digits, "-" or "_"`);
    if (name !== undefined && this._terminals.has(name)) throw new JupyterError(409, `A terminal named "${name}" already exists`);
    const dir = cwd ? await this._o.resolveCwd(cwd).catch(() => this._o.rootDir) : this._o.rootDir;
    const pty = await this._loadPty();
    const [file, ...args] = await this._shell();
    const env: Record<string, string> = { ...(process.env as Record<string, string>), TERM: 'xterm-256color' };
    delete env.NBG_KG_TOKEN;
    delete env.NBG_KG_TOKEN_FILE;
    const finalName = name ?? this._nextName();
    let proc: IPty;
    try {
      proc = pty.spawn(file!, args, { name: 'xterm-256color', cols: 80, rows: 24, cwd: dir, env });
    } catch (err) {
      throw new JupyterError(500, `Cannot start the shell ${file}: ${(err as Error).message}`);
    }
    const terminal = new Terminal(finalName, proc, {
      scrollbackBytes: this._o.scrollbackBytes,
      killGraceMs: this._o.killGraceMs,
      log: this._log,
      onActivity: this._o.onActivity,
      onExit: t => {
        if (this._terminals.get(t.name) === t) this._terminals.delete(t.name);
      }
    });
    this._terminals.set(finalName, terminal);
    this._log.info('terminal started', { terminal: finalName, pid: proc.pid, shell: file });
    this._o.onActivity();
    return terminal.model;
  }

  /** Ends a terminal's shell. @throws 404 when unknown. */
  async delete(name: string): Promise<void> {
    const t = this.get(name);
    this._terminals.delete(name);
    await t.kill();
  }

  /** Ends every terminal. Idempotent. */
  async dispose(): Promise<void> {
    if (this._disposed) return;
    this._disposed = true;
    const all = [...this._terminals.values()];
    this._terminals.clear();
    await Promise.allSettled(all.map(t => t.kill()));
  }

  private _nextName(): string {
    for (let i = 1; ; i++) if (!this._terminals.has(String(i))) return String(i);
  }

  private _loadPty(): Promise<PtyModule> {
    this._pty ??= import('node-pty').catch(err => {
      this._pty = null;
      throw new JupyterError(503, `Terminals are not available: node-pty cannot be loaded (${(err as Error).message})`);
    });
    return this._pty;
  }

  private async _shell(): Promise<string[]> {
    if (this._o.shell.length > 0) return [...this._o.shell];
    for (const candidate of ['/bin/bash', '/bin/sh']) {
      if (await access(candidate, constants.X_OK).then(() => true, () => false)) return [candidate, '-l'];
    }
    throw new JupyterError(503, 'Terminals are not available: no shell found (/bin/bash, /bin/sh)');
  }
}
