/**
 * The wire contract between the gateway's SSH server and the agent's SSH channel endpoints
 * (docs/ssh.md, "Agent channel protocol"). The agent (kernel-gateway/src/platform/ssh/) imports
 * this same module, so the two sides cannot drift apart.
 *
 * #### Notes
 * - One WebSocket per SSH channel. Bytes travel in binary frames, never re-encoded; control
 *   messages are small JSON text frames.
 * - Session sockets: gateway → agent binary frames are stdin; agent → gateway binary frames
 *   carry one tag byte (stdout or stderr) and then the bytes.
 * - TCP sockets (`direct-tcpip`): binary frames are the stream in both directions, untagged.
 */

/** Paths under the agent's base URL. */
export const SSH_SESSION_PATH = 'api/nbg/ssh/session';
export const SSH_TCP_PATH = 'api/nbg/ssh/tcp';

/** Tag byte of agent → gateway binary frames on session sockets. */
export const STREAM_STDOUT = 1;
export const STREAM_STDERR = 2;

/** The pty a client asked for (`pty-req`, RFC 4254 §6.2). */
export interface PtySpec {
  term: string;
  cols: number;
  rows: number;
  /** Pixels; 0 when unknown. */
  width: number;
  height: number;
}

/** First message on a session socket, gateway → agent. */
export interface SessionStart {
  t: 'start';
  /** `shell` (login shell), `exec` (`$SHELL -c command`) or `subsystem` (only `sftp`). */
  kind: 'shell' | 'exec' | 'subsystem';
  command?: string;
  subsystem?: string;
  pty?: PtySpec;
  /** Variables the client sent with `env` requests (SendEnv/SetEnv). */
  env: Record<string, string>;
  /** For SSH_CONNECTION / SSH_CLIENT. */
  client: { ip: string; port: number };
  server: { ip: string; port: number };
}

/** Later gateway → agent control messages on a session socket. */
export type SessionControl =
  | { t: 'resize'; cols: number; rows: number; width: number; height: number }
  | { t: 'signal'; signal: string }
  | { t: 'eof' };

/** Agent → gateway control messages on a session socket. */
export type SessionEvent =
  | { t: 'started'; pid: number }
  | { t: 'error'; message: string }
  | { t: 'exit'; code: number }
  | { t: 'exit'; signal: string; core: boolean };

/** Control messages on a TCP socket (both directions carry `eof`). */
export type TcpEvent = { t: 'connected' } | { t: 'error'; message: string } | { t: 'eof' };

/** Signal names an SSH `signal` request may carry (RFC 4254 §6.10), without `SIG`. */
export const SSH_SIGNALS = ['ABRT', 'ALRM', 'FPE', 'HUP', 'ILL', 'INT', 'KILL', 'PIPE', 'QUIT', 'SEGV', 'TERM', 'USR1', 'USR2'] as const;

/** A binary frame as one Buffer, without copying the usual case (`binaryType` 'nodebuffer'). */
export function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}
