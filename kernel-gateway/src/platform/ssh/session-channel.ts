/**
 * One SSH session channel inside the instance: a WebSocket from the gateway on one side, a
 * shell, command or sftp-server on the other (protocol in `protocol.ts`).
 *
 * #### Notes
 * - Backpressure both ways: output pauses while the socket has more than `HIGH_WATER` bytes
 *   queued; the socket pauses while the process does not read its input.
 * - The exit message follows the last output byte; then the socket closes normally.
 * - When the socket closes first (the client went away), the process group gets SIGHUP.
 */
import type { WebSocket, RawData } from 'ws';
import type { Logger } from '../../logger';
import { spawnSessionChild, type ExitStatus, type ISessionChild } from './child';
import { findSftpServer, sessionEnv } from './environment';
import { STREAM_STDERR, STREAM_STDOUT, toBuffer, type SessionControl, type SessionEvent, type SessionStart } from '../../../../server/src/ssh/agent-protocol';
import { parseControl, parseStart } from './validate';

/** Output bytes queued on the socket above which the process's output is paused. */
const HIGH_WATER = 1 << 20;
/** How long the gateway has to send the start message. */
const START_TIMEOUT_MS = 10_000;

export interface SessionChannelOptions {
  /** Working directory of every session (`~/work`). */
  rootDir: string;
  shell: string;
  /** sftp-server candidates, first existing wins. */
  sftpServers?: readonly string[];
  log: Logger;
  /** Called on traffic (throttled by the caller). */
  onActivity(): void;
}

export class SessionChannel {
  private _child: ISessionChild | null = null;
  private _kind: SessionStart['kind'] | null = null;
  private _exited = false;
  private _closed = false;
  private _outputPaused = false;

  constructor(
    private readonly _ws: WebSocket,
    private readonly _o: SessionChannelOptions
  ) {}

  /** Runs the channel until the socket closes. */
  run(): void {
    const ws = this._ws;
    const timer = setTimeout(() => this._fail('no start message within 10 s'), START_TIMEOUT_MS);
    ws.once('message', (data, isBinary) => {
      clearTimeout(timer);
      if (isBinary) return this._fail('the first message must be the JSON start message');
      let start: SessionStart;
      try {
        start = parseStart(JSON.parse(data.toString()));
      } catch (err) {
        return this._fail(`bad start message: ${(err as Error).message}`);
      }
      void this._start(start).catch(err => this._fail((err as Error).message));
    });
    ws.on('close', () => {
      clearTimeout(timer);
      this._closed = true;
      this._child?.hangup();
    });
    ws.on('error', () => undefined);
  }

  /**
   * Whether the session is doing work that must keep the instance up although silent: a
   * command (`ssh host cmd`) still running, or a job in the foreground of a pty shell. An
   * idle prompt or an open sftp session counts only through its traffic (SPEC §6).
   */
  busy(): boolean {
    const child = this._child;
    if (!child || this._exited || this._closed) return false;
    if (this._kind === 'exec') return true;
    return this._kind === 'shell' && child.foregroundJob();
  }

  /** SIGHUP to the session's process group. */
  hangup(): void {
    if (!this._exited) this._child?.hangup();
  }

  /** SIGKILL to the session's process group (agent shutdown, after a hang-up). */
  kill(): void {
    if (!this._exited) this._child?.hangup(true);
  }

  private async _start(start: SessionStart): Promise<void> {
    const { file, args } = this._command(start);
    const log = this._o.log;
    const child = await spawnSessionChild(
      { file, args, cwd: this._o.rootDir, env: sessionEnv(start, this._o.shell), ...(start.pty ? { pty: start.pty } : {}) },
      {
        onData: (stream, data) => this._output(stream, data),
        onExit: status => this._exit(status),
        onError: err => log.warn('ssh session process error', { err })
      }
    );
    this._child = child;
    this._kind = start.kind;
    if (this._closed) {
      child.hangup();
      return;
    }
    this._send({ t: 'started', pid: child.pid });
    log.debug('ssh session started', { kind: start.kind, pid: child.pid, pty: Boolean(start.pty) });
    this._ws.on('message', (data, isBinary) => {
      this._o.onActivity();
      if (isBinary) return this._input(data);
      try {
        this._control(parseControl(JSON.parse(data.toString())));
      } catch (err) {
        log.warn('bad ssh control message', { err: (err as Error).message });
      }
    });
  }

  private _command(start: SessionStart): { file: string; args: string[] } {
    switch (start.kind) {
      case 'shell':
        return { file: this._o.shell, args: ['-l'] };
      case 'exec':
        return { file: this._o.shell, args: ['-c', start.command ?? ''] };
      case 'subsystem': {
        if (start.subsystem !== 'sftp') throw new Error(`unknown subsystem "${start.subsystem}"; only sftp is served`);
        const sftp = findSftpServer(this._o.sftpServers);
        if (!sftp) throw new Error('sftp-server is not installed in this instance (Debian: apt-get install openssh-sftp-server)');
        return { file: sftp, args: [] };
      }
    }
  }

  private _input(data: RawData): void {
    const child = this._child;
    if (!child) return;
    const buf = toBuffer(data);
    if (!child.write(buf)) {
      this._ws.pause();
      child.onDrain(() => this._ws.resume());
    }
  }

  private _control(msg: SessionControl): void {
    const child = this._child!;
    switch (msg.t) {
      case 'resize':
        child.resize(msg.cols, msg.rows);
        break;
      case 'signal':
        child.signal(msg.signal);
        break;
      case 'eof':
        child.endInput();
        // No input follows; a socket paused for stdin's 'drain' (which an ended stream
        // never emits) must keep reading control messages and the close.
        this._ws.resume();
        break;
    }
  }

  private _output(stream: 'stdout' | 'stderr', data: Buffer): void {
    if (this._closed) return;
    this._o.onActivity();
    const frame = Buffer.allocUnsafe(data.length + 1);
    frame[0] = stream === 'stdout' ? STREAM_STDOUT : STREAM_STDERR;
    data.copy(frame, 1);
    this._ws.send(frame, { binary: true }, () => {
      if (this._outputPaused && this._ws.bufferedAmount < HIGH_WATER / 2) {
        this._outputPaused = false;
        this._child?.resume();
      }
    });
    if (!this._outputPaused && this._ws.bufferedAmount > HIGH_WATER) {
      this._outputPaused = true;
      this._child?.pause();
    }
  }

  private _exit(status: ExitStatus): void {
    this._exited = true;
    if (this._closed) return;
    this._send('code' in status ? { t: 'exit', code: status.code } : { t: 'exit', signal: status.signal, core: status.core });
    this._ws.resume();
    this._ws.close(1000, 'exited');
  }

  private _fail(message: string): void {
    if (this._closed) return;
    this._send({ t: 'error', message });
    this._ws.close(1011, 'session failed');
  }

  private _send(msg: SessionEvent): void {
    this._ws.send(JSON.stringify(msg));
  }
}
