/**
 * One client session on a kernel: the WebSocket it currently speaks through and its own
 * shell/control/stdin sockets, whose ZeroMQ identity routes replies and `input()` requests
 * back to this client only.
 *
 * #### Notes
 * When the WebSocket drops, the session stays for `reconnectWindowMs`, buffering what the
 * kernel sends (bounded); a client reconnecting with the same `session_id` gets it replayed,
 * as Jupyter Server does for JupyterLab's automatic reconnects.
 */
import type { WebSocket } from 'ws';
import type { Logger } from '../../logger';
import type { IopubSink, Kernel } from './kernel';
import { ChannelSocket } from './zmq-channels';
import { fromFrames, peekHeader, toFrames, type RawMessage } from './wire';
import { decodeLegacy, decodeV1, encodeLegacy, encodeV1, encodeV1Parts, rawSize, V1_PROTOCOL, type Channel } from './ws-serialize';

export interface KernelClientOptions {
  reconnectWindowMs: number;
  maxBufferedBytes: number;
  /** WebSocket messages larger than this are dropped with a logged reason. */
  maxMessageBytes: number;
}

interface Buffered {
  channel: Channel;
  msg: RawMessage;
  msgId: string;
  msgType: string;
}

/** A message encoded once per protocol, shared by the sinks of one fan-out. */
export interface EncodeCache {
  v1?: Buffer;
  v1Parts?: Buffer[];
  legacy?: string | Buffer;
}

/**
 * Above this size a v1 message goes out as WebSocket fragments of its own frames instead
 * of one copied buffer (a 20 MB stream message is then never copied in the gateway).
 */
const FRAGMENT_ABOVE = 1 << 20;

export class KernelClient implements IopubSink {
  private _ws: WebSocket | null = null;
  private _protocol = '';
  private readonly _shell: ChannelSocket;
  private readonly _control: ChannelSocket;
  private readonly _stdin: ChannelSocket;
  private _buffer: Buffered[] = [];
  private _bufferedBytes = 0;
  private _expiry: NodeJS.Timeout | null = null;
  private _disposed = false;

  constructor(
    readonly kernel: Kernel,
    readonly sessionId: string,
    private readonly _opts: KernelClientOptions,
    private readonly _log: Logger,
    private readonly _onExpired: (client: KernelClient) => void
  ) {
    // The identity is unique per client session; ipykernel sends input_request to the
    // stdin socket with the identity of the shell socket that sent execute_request.
    const identity = `${sessionId}:${Math.random().toString(36).slice(2, 10)}`;
    const reply = (channel: Channel) => (frames: Buffer[]) => this._onReply(channel, frames);
    this._shell = ChannelSocket.dealer(kernel.url('shell'), identity, _log, reply('shell'));
    this._control = ChannelSocket.dealer(kernel.url('control'), identity, _log, reply('control'));
    this._stdin = ChannelSocket.dealer(kernel.url('stdin'), identity, _log, reply('stdin'));
    kernel.addSink(this);
  }

  get attached(): boolean {
    return this._ws !== null;
  }

  /** Attaches a WebSocket, replacing (closing) any previous one, and replays the buffer. */
  attach(ws: WebSocket): void {
    if (this._expiry) {
      clearTimeout(this._expiry);
      this._expiry = null;
    }
    if (this._ws && this._ws !== ws) {
      this._ws.close(4000, 'replaced by a newer connection with the same session');
    }
    this._ws = ws;
    this._protocol = ws.protocol;
    this.kernel.connections++;
    ws.on('message', (data, isBinary) => this._onClientMessage(data as Buffer, isBinary));
    ws.once('close', () => this._detach(ws));
    const replay = this._buffer;
    this._buffer = [];
    this._bufferedBytes = 0;
    for (const b of replay) this.deliver(b.channel, b.msg, b.msgId, b.msgType);
  }

  /** Sends one kernel message to the client, or buffers it while detached. */
  deliver(channel: Channel, msg: RawMessage, msgId: string, msgType: string, cache?: EncodeCache): void {
    const ws = this._ws;
    if (!ws || ws.readyState !== ws.OPEN) {
      this._bufferMessage({ channel, msg, msgId, msgType });
      return;
    }
    if (this._protocol === V1_PROTOCOL) {
      if (rawSize(msg) > FRAGMENT_ABOVE) {
        const parts = cache?.v1Parts ?? encodeV1Parts(channel, msg);
        if (cache) cache.v1Parts = parts;
        const last = parts.length - 1;
        parts.forEach((p, i) => {
          if (p.length > 0 || i === last) ws.send(p, { binary: true, fin: i === last });
        });
        return;
      }
      const data = cache?.v1 ?? encodeV1(channel, msg);
      if (cache) cache.v1 = data;
      ws.send(data, { binary: true });
    } else {
      const data = cache?.legacy ?? encodeLegacy(channel, msg, msgId, msgType);
      if (cache) cache.legacy = data;
      ws.send(data, { binary: typeof data !== 'string' });
    }
  }

  /** Closes the sockets and the WebSocket. Idempotent. */
  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    if (this._expiry) clearTimeout(this._expiry);
    this.kernel.removeSink(this);
    this._shell.close();
    this._control.close();
    this._stdin.close();
    const ws = this._ws;
    this._ws = null;
    // The close event decrements the connection count.
    ws?.close(1001, 'kernel shut down');
    this._buffer = [];
  }

  private _detach(ws: WebSocket): void {
    this.kernel.connections = Math.max(0, this.kernel.connections - 1);
    if (this._ws !== ws) return;
    this._ws = null;
    if (this._disposed) return;
    this._expiry = setTimeout(() => this._onExpired(this), this._opts.reconnectWindowMs);
  }

  private _bufferMessage(b: Buffered): void {
    if (this._disposed) return;
    let size = b.msg.header.length + b.msg.content.length;
    for (const buf of b.msg.buffers) size += buf.length;
    if (this._bufferedBytes + size > this._opts.maxBufferedBytes) return;
    this._buffer.push(b);
    this._bufferedBytes += size;
  }

  private _onReply(channel: Channel, frames: Buffer[]): void {
    const { msg } = fromFrames(frames, this.kernel.signer, this.kernel.verifyIncoming);
    const head = peekHeader(msg.header);
    this.kernel.touch();
    this.deliver(channel, msg, head.msg_id, head.msg_type);
  }

  private _onClientMessage(data: Buffer, isBinary: boolean): void {
    if (data.length > this._opts.maxMessageBytes) {
      this._log.warn('dropped a client message: too large', { bytes: data.length, limit: this._opts.maxMessageBytes });
      return;
    }
    let decoded: { channel: Channel; msg: RawMessage };
    try {
      decoded = this._protocol === V1_PROTOCOL ? decodeV1(data) : decodeLegacy(isBinary ? data : data.toString('utf8'));
      peekHeader(decoded.msg.header);
    } catch (err) {
      this._log.warn('dropped a malformed client message', { reason: (err as Error).message });
      return;
    }
    if (decoded.channel === 'iopub') {
      this._log.warn('dropped a client message sent on iopub');
      return;
    }
    if (this.kernel.isReady) {
      this._forward(decoded.channel, decoded.msg);
    } else {
      // Order is kept: every waiter on the same promise runs in registration order.
      void this.kernel.ready.then(
        () => this._forward(decoded.channel, decoded.msg),
        err => this._log.warn('dropped a client message: kernel not ready', { reason: (err as Error).message })
      );
    }
  }

  private _forward(channel: Channel, msg: RawMessage): void {
    const sock = channel === 'shell' ? this._shell : channel === 'control' ? this._control : this._stdin;
    sock.send(toFrames(msg, this.kernel.signer));
    this.kernel.touch();
  }
}
