/**
 * Boundary checks of the gateway's SSH channel messages (STYLE.md §21). The gateway is
 * trusted, but a malformed message must fail one channel with a clear reason, not the agent.
 */
import { SSH_SIGNALS, type PtySpec, type SessionControl, type SessionStart } from '../../../../server/src/ssh/agent-protocol';

const MAX_COMMAND = 256 * 1024;
const MAX_ENV = 256;
const MAX_ENV_VALUE = 64 * 1024;
const MAX_DIMENSION = 10_000;

function obj(v: unknown, what: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${what} must be an object`);
  return v as Record<string, unknown>;
}

function int(v: unknown, what: string, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw new Error(`${what} must be an integer from 0 to ${max}`);
  return v;
}

function endpoint(v: unknown, what: string): { ip: string; port: number } {
  const o = obj(v, what);
  if (typeof o.ip !== 'string' || o.ip.length > 64) throw new Error(`${what}.ip must be an address`);
  return { ip: o.ip, port: int(o.port, `${what}.port`, 65_535) };
}

function pty(v: unknown): PtySpec {
  const o = obj(v, 'pty');
  if (typeof o.term !== 'string' || o.term.length > 64 || /[^\x21-\x7e]/.test(o.term)) throw new Error('pty.term must be a terminal name like xterm-256color');
  return {
    term: o.term,
    cols: int(o.cols, 'pty.cols', MAX_DIMENSION),
    rows: int(o.rows, 'pty.rows', MAX_DIMENSION),
    width: int(o.width ?? 0, 'pty.width', 1 << 20),
    height: int(o.height ?? 0, 'pty.height', 1 << 20)
  };
}

/** @throws Error naming the bad field. */
export function parseStart(v: unknown): SessionStart {
  const o = obj(v, 'start message');
  if (o.t !== 'start') throw new Error('the first message must have t: "start"');
  if (o.kind !== 'shell' && o.kind !== 'exec' && o.kind !== 'subsystem') throw new Error('kind must be shell, exec or subsystem');
  const out: SessionStart = { t: 'start', kind: o.kind, env: {}, client: endpoint(o.client, 'client'), server: endpoint(o.server, 'server') };
  if (o.kind === 'exec') {
    if (typeof o.command !== 'string' || o.command.length > MAX_COMMAND) throw new Error(`command must be a string of at most ${MAX_COMMAND} characters`);
    out.command = o.command;
  }
  if (o.kind === 'subsystem') {
    if (typeof o.subsystem !== 'string' || !o.subsystem) throw new Error('subsystem must name a subsystem');
    out.subsystem = o.subsystem;
  }
  if (o.pty !== undefined && o.pty !== null) out.pty = pty(o.pty);
  const env = obj(o.env ?? {}, 'env');
  const keys = Object.keys(env);
  if (keys.length > MAX_ENV) throw new Error(`env may hold at most ${MAX_ENV} variables`);
  for (const k of keys) {
    const val = env[k];
    if (typeof val !== 'string' || val.length > MAX_ENV_VALUE || val.includes('\0')) throw new Error(`env.${k} must be a string without NUL of at most ${MAX_ENV_VALUE} characters`);
    out.env[k] = val;
  }
  return out;
}

/** @throws Error naming the bad field. */
export function parseControl(v: unknown): SessionControl {
  const o = obj(v, 'control message');
  switch (o.t) {
    case 'resize':
      return {
        t: 'resize',
        cols: int(o.cols, 'cols', MAX_DIMENSION),
        rows: int(o.rows, 'rows', MAX_DIMENSION),
        width: int(o.width ?? 0, 'width', 1 << 20),
        height: int(o.height ?? 0, 'height', 1 << 20)
      };
    case 'signal':
      if (typeof o.signal !== 'string' || !(SSH_SIGNALS as readonly string[]).includes(o.signal)) {
        throw new Error(`signal must be one of ${SSH_SIGNALS.join(', ')}`);
      }
      return { t: 'signal', signal: o.signal };
    case 'eof':
      return { t: 'eof' };
    default:
      throw new Error('t must be resize, signal or eof');
  }
}
