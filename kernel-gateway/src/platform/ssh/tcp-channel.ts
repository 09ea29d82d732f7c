/**
 * One `direct-tcpip` channel (`ssh -L`, `ssh -D`, VS Code's forwarded ports): a WebSocket
 * from the gateway spliced to a TCP connection made from inside the instance.
 *
 * #### Notes
 * - Only ports inside the instance can be reached (loopback destinations): forwarding is for
 *   reaching what the user runs in their instance, not a way out of it (docs/ssh.md).
 * - Half-close travels as `{"t":"eof"}` so protocols that end their request with EOF work.
 */
import { connect, isIP, type Socket } from 'node:net';
import type { RawData, WebSocket } from 'ws';
import { toBuffer, type TcpEvent } from '../../../../server/src/ssh/agent-protocol';

const HIGH_WATER = 1 << 20;
const CONNECT_TIMEOUT_MS = 10_000;

/** True for destinations inside the instance. */
export function isLoopbackDestination(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === 'localhost.localdomain' || h === 'ip6-localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.') || h === '0.0.0.0';
  if (isIP(h) === 6) return h === '::1' || h === '::' || /^::ffff:127\./.test(h);
  return false;
}

export interface TcpChannelOptions {
  onActivity(): void;
}

/** Splices the socket to `host:port`; the WebSocket closes when either side ends. */
export function runTcpChannel(ws: WebSocket, host: string, port: number, o: TcpChannelOptions): void {
  const send = (msg: TcpEvent): void => ws.send(JSON.stringify(msg));
  let sock: Socket | null = connect({ host, port, timeout: CONNECT_TIMEOUT_MS });
  let connected = false;
  let paused = false;
  sock.setNoDelay(true);
  sock.once('connect', () => {
    connected = true;
    sock?.setTimeout(0);
    send({ t: 'connected' });
  });
  sock.once('timeout', () => sock?.destroy(new Error(`connecting to ${host}:${port} timed out`)));
  sock.on('data', (data: Buffer) => {
    o.onActivity();
    ws.send(data, { binary: true }, () => {
      if (paused && ws.bufferedAmount < HIGH_WATER / 2) {
        paused = false;
        sock?.resume();
      }
    });
    if (!paused && ws.bufferedAmount > HIGH_WATER) {
      paused = true;
      sock?.pause();
    }
  });
  sock.once('end', () => {
    if (ws.readyState === ws.OPEN) send({ t: 'eof' });
  });
  sock.once('error', err => {
    if (ws.readyState !== ws.OPEN) return;
    const code = (err as NodeJS.ErrnoException).code;
    send({ t: 'error', message: connected ? `connection to ${host}:${port} failed: ${err.message}` : describeConnectError(host, port, code, err.message) });
  });
  sock.once('close', () => {
    sock = null;
    if (ws.readyState === ws.OPEN) ws.close(1000, 'closed');
  });
  ws.on('message', (data: RawData, isBinary) => {
    if (!sock) return;
    if (!isBinary) {
      if (parseEof(data)) {
        sock.end();
        // An ended socket never emits the 'drain' a paused WebSocket may be waiting for.
        ws.resume();
      }
      return;
    }
    o.onActivity();
    const buf = toBuffer(data);
    if (!sock.write(buf)) {
      ws.pause();
      sock.once('drain', () => ws.resume());
    }
  });
  ws.on('close', () => sock?.destroy());
  ws.on('error', () => sock?.destroy());
}

function parseEof(data: RawData): boolean {
  try {
    return (JSON.parse(data.toString()) as { t?: unknown }).t === 'eof';
  } catch {
    return false;
  }
}

function describeConnectError(host: string, port: number, code: string | undefined, message: string): string {
  if (code === 'ECONNREFUSED') return `nothing listens on ${host}:${port} inside the instance`;
  return `cannot connect to ${host}:${port} inside the instance: ${message}`;
}
