/**
 * An SSH session channel (shell, exec, sftp; with pty, env, window changes and signals),
 * bridged to a WebSocket on the instance's agent that runs the process there.
 *
 * #### Notes
 * - Nothing is accepted until the agent has started the process: a request the instance
 *   cannot serve gets a clear message on stderr and exit status 255, never a hang.
 * - Bytes are never re-encoded: channel data becomes binary frames and back. Backpressure
 *   holds both ways: a slow client pauses the agent's socket (ssh2's window does the rest);
 *   a slow agent pauses the channel, which stops ssh2 from opening the client's window.
 * - The exit status is sent after every output byte was handed to ssh2, then EOF and close,
 *   in the order OpenSSH's sshd uses.
 */
import type { Connection, PseudoTtyInfo, ServerChannel, Session } from 'ssh2';
import type WebSocket from 'ws';
import type { Logger } from '../logger';
import { openAgentSocket, type AgentLink, type AgentTarget } from './agent-link';
import { SSH_SESSION_PATH, SSH_SIGNALS, STREAM_STDOUT, type PtySpec, type SessionEvent, type SessionStart } from './agent-protocol';
import { describeAgentError } from './channel-errors';
import { corkForTick, forwardChannelToAgent, type Corkable } from './channel-flow';

/** Most `env` requests one session may make. */
const MAX_ENV = 256;
/** How long the agent may take to start the process. */
const START_TIMEOUT_MS = 30_000;
/** Exit status reported when the instance could not run the request (like ssh's own 255). */
export const EXIT_UNAVAILABLE = 255;

export interface ChannelContext {
  client: Connection;
  /** The SSH client's and our own socket addresses, for SSH_CONNECTION. */
  clientAddr: { ip: string; port: number };
  serverAddr: { ip: string; port: number };
  /** The agent to open the channel on; re-checked per channel (the instance may have stopped). */
  resolve(): Promise<AgentTarget>;
  /** Traffic on the channel (throttled by the caller). */
  onActivity(): void;
  /**
   * The SSH client's TCP socket, corked while agent output is written: ssh2 writes one
   * packet per `socket.write` (a 64 KiB chunk makes two), and corked they leave in one
   * `writev` per tick.
   */
  socket?: Corkable;
  log: Logger;
}

type Kind = SessionStart['kind'];

/** Serves one accepted session until it closes. */
export function bridgeSession(session: Session, ctx: ChannelContext): void {
  const env: Record<string, string> = {};
  let pty: PtySpec | undefined;
  let ws: WebSocket | null = null;
  let ended = false;

  session.on('env', (accept, reject, info) => {
    if (Object.keys(env).length < MAX_ENV && /^[A-Za-z_][A-Za-z0-9_]*$/.test(info.key) && typeof info.val === 'string') {
      env[info.key] = info.val;
      accept?.();
    } else {
      reject?.();
    }
  });
  session.on('pty', (accept, _reject, info: PseudoTtyInfo) => {
    pty = { term: info.term || 'xterm', cols: info.cols, rows: info.rows, width: info.width, height: info.height };
    accept?.();
  });
  session.on('window-change', (accept, _reject, info) => {
    if (pty) Object.assign(pty, { cols: info.cols, rows: info.rows, width: info.width, height: info.height });
    ws?.send(JSON.stringify({ t: 'resize', cols: info.cols, rows: info.rows, width: info.width, height: info.height }));
    accept?.();
  });
  session.on('signal', (accept, reject, info) => {
    const name = String(info.name).replace(/^SIG/, '');
    if (!ws || !(SSH_SIGNALS as readonly string[]).includes(name)) return reject?.();
    ws.send(JSON.stringify({ t: 'signal', signal: name }));
    accept?.();
  });
  // Agent and X11 forwarding are not offered: nothing on the instance could use them safely.
  session.on('auth-agent', (_accept, reject) => reject?.());
  session.on('x11', (_accept, reject) => reject?.());

  const start = (kind: Kind, extra: Pick<SessionStart, 'command' | 'subsystem'>, accept: () => ServerChannel): void => {
    // Accepted at once, as sshd does: OpenSSH sends stdin right after the request without
    // waiting for the reply, and ssh2 drops data that arrives before a channel exists. The
    // paused channel holds it (and its window holds the client) until the agent is ready.
    const channel = accept();
    if (!channel) return;
    channel.pause();
    void run(channel, kind, extra).catch(err => ctx.log.warn({ err }, 'ssh session failed'));
  };
  session.on('shell', accept => start('shell', {}, accept));
  session.on('exec', (accept, _reject, info) => start('exec', { command: info.command }, accept));
  session.on('subsystem', (accept, reject, info) => {
    if (info.name !== 'sftp') return reject?.();
    start('subsystem', { subsystem: 'sftp' }, accept);
  });
  session.on('close', () => {
    ended = true;
    ws?.close();
  });

  async function run(channel: ServerChannel, kind: Kind, extra: Pick<SessionStart, 'command' | 'subsystem'>): Promise<void> {
    const sent: PtySpec | undefined = pty ? { ...pty } : undefined;
    let link: AgentLink;
    try {
      const target = await ctx.resolve();
      link = await openAgentSocket(target, SSH_SESSION_PATH);
      const msg: SessionStart = { t: 'start', kind, ...extra, env, client: ctx.clientAddr, server: ctx.serverAddr, ...(sent ? { pty: sent } : {}) };
      link.ws.send(JSON.stringify(msg));
      const first = await link.first<SessionEvent>(START_TIMEOUT_MS);
      if (first.t !== 'started') {
        link.ws.close();
        throw new Error(first.t === 'error' ? first.message : 'the instance did not start the session');
      }
    } catch (err) {
      return fail(channel, describeAgentError(err));
    }
    if (ended) {
      link.ws.close();
      return;
    }
    ws = link.ws;
    // A window change that came while the process was starting.
    if (pty && sent && (pty.cols !== sent.cols || pty.rows !== sent.rows)) {
      ws.send(JSON.stringify({ t: 'resize', cols: pty.cols, rows: pty.rows, width: pty.width, height: pty.height }));
    }
    pipe(channel, link, ctx);
  }

  function fail(channel: ServerChannel, message: string): void {
    if (ended) return;
    channel.stderr.write(`nbgateway: ${message}\r\n`);
    channel.exit(EXIT_UNAVAILABLE);
    channel.end();
  }
}

/** Splices an accepted channel and the agent's socket until either ends. */
function pipe(channel: ServerChannel, link: AgentLink, ctx: ChannelContext): void {
  const ws = link.ws;
  let exit: SessionEvent | null = null;
  let wsPaused = false;

  const resumeWs = (): void => {
    if (wsPaused) {
      wsPaused = false;
      ws.resume();
    }
  };

  link.deliver((data, isBinary) => {
    if (!isBinary) {
      try {
        const ev = JSON.parse(data.toString()) as SessionEvent;
        if (ev.t === 'exit') exit = ev;
        else if (ev.t === 'error') channel.stderr.write(`nbgateway: ${ev.message}\r\n`);
      } catch {
        /* not ours to crash on */
      }
      return;
    }
    ctx.onActivity();
    const out = data[0] === STREAM_STDOUT ? channel : channel.stderr;
    corkForTick(ctx.socket);
    if (!out.write(data.subarray(1)) && !wsPaused) {
      wsPaused = true;
      ws.pause();
      out.once('drain', resumeWs);
    }
  });

  // SSH packets decrypted from one socket read leave for the agent in one writev.
  forwardChannelToAgent(channel, ws, ctx.onActivity, (ws as unknown as { _socket?: Corkable })._socket);
  // Held while the process started (see `start`); a 'data' listener alone does not undo pause().
  channel.resume();
  const closeWs = (): void => {
    if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close();
  };
  channel.on('close', closeWs);
  channel.on('error', closeWs);

  link.onClose(code => {
    void finish(channel, exit, code).catch(err => ctx.log.debug({ err }, 'ssh channel finish failed'));
  });
}

async function finish(channel: ServerChannel, exit: SessionEvent | null, code: number): Promise<void> {
  await Promise.all([flushed(channel, channel), flushed(channel.stderr, channel)]);
  if (exit?.t === 'exit') {
    if ('code' in exit) channel.exit(exit.code);
    else channel.exit(exit.signal, exit.core, '');
  } else if (code !== 1000) {
    channel.stderr.write('nbgateway: the connection to the instance was lost\r\n');
    channel.exit(EXIT_UNAVAILABLE);
  }
  channel.end();
}

/**
 * Resolves once everything written so far was handed to ssh2 (a zero-length write's callback
 * runs after the earlier writes'), or when the channel closes first.
 */
function flushed(stream: NodeJS.WritableStream & { writableLength?: number }, channel: ServerChannel): Promise<void> {
  if (!stream.writableLength) return Promise.resolve();
  return new Promise(resolve => {
    channel.once('close', resolve);
    stream.write(Buffer.alloc(0), () => {
      channel.removeListener('close', resolve);
      resolve();
    });
  });
}
