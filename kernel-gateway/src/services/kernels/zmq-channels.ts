/**
 * ZeroMQ sockets for the kernel channels, with the two things zeromq.js v6 leaves to us:
 * sends are serialised (a socket accepts one pending `send()` at a time), and a receive
 * loop that ends quietly when the socket is closed.
 */
import { Dealer, Request, Subscriber, type Socket } from 'zeromq';
import type { Logger } from '../../logger';

type Receiver = (frames: Buffer[]) => void;

/**
 * We connect before the kernel has bound its sockets (it is still importing), so ZeroMQ
 * retries: every 10 ms instead of its default 100 ms, and without its exponential back-off
 * (with one, the retries thin out exactly while the kernel is starting: 10, 30, 70, 150,
 * 310, 630 ms…). A failed connect to a missing IPC file or a closed port costs a syscall.
 */
const RECONNECT = { reconnectInterval: 10 } as const;

/** A connected socket with a send queue and a receive loop. */
export class ChannelSocket {
  private readonly _queue: Buffer[][] = [];
  private _sending = false;
  private _closed = false;

  private constructor(
    private readonly _sock: Dealer | Subscriber,
    private readonly _log: Logger,
    onMessage: Receiver | null
  ) {
    if (onMessage) void this._receive(onMessage);
  }

  /** A DEALER for shell, control or stdin; `identity` routes replies and input requests to us. */
  static dealer(url: string, identity: string, log: Logger, onMessage: Receiver | null): ChannelSocket {
    const sock = new Dealer({ routingId: identity, linger: 0, ...RECONNECT });
    sock.connect(url);
    return new ChannelSocket(sock, log, onMessage);
  }

  /**
   * A SUB for iopub, subscribed to everything. `onHandshake` is called each time the
   * connection to the kernel's PUB is made (at start and after a restart on the same port):
   * from then on the subscription is on its way, so a nudge soon after is seen.
   */
  static subscriber(url: string, log: Logger, onMessage: Receiver, onHandshake?: () => void): ChannelSocket {
    const sock = new Subscriber({ linger: 0, ...RECONNECT });
    if (onHandshake) sock.events.on('handshake', () => onHandshake());
    sock.connect(url);
    sock.subscribe();
    return new ChannelSocket(sock, log, onMessage);
  }

  get closed(): boolean {
    return this._closed;
  }

  /** Queues frames for sending; order is preserved. */
  send(frames: Buffer[]): void {
    if (this._closed) return;
    this._queue.push(frames);
    if (!this._sending) void this._drain();
  }

  close(): void {
    if (this._closed) return;
    this._closed = true;
    this._queue.length = 0;
    this._sock.close();
  }

  private async _drain(): Promise<void> {
    this._sending = true;
    try {
      while (this._queue.length > 0 && !this._closed) {
        await (this._sock as Dealer).send(this._queue.shift()!);
      }
    } catch (err) {
      if (!this._closed) this._log.warn('zmq send failed', { err });
    } finally {
      this._sending = false;
    }
  }

  private async _receive(onMessage: Receiver): Promise<void> {
    try {
      for await (const frames of this._sock as Socket & AsyncIterable<Buffer[]>) {
        try {
          onMessage(frames);
        } catch (err) {
          this._log.warn('dropped a kernel message', { err });
        }
      }
    } catch (err) {
      if (!this._closed) this._log.warn('zmq receive loop ended', { err });
    }
  }
}

/**
 * Pings the heartbeat channel once.
 * @returns true when the kernel echoed within `timeoutMs`.
 */
export async function heartbeat(url: string, timeoutMs: number): Promise<boolean> {
  const sock = new Request({ linger: 0, receiveTimeout: timeoutMs, sendTimeout: timeoutMs });
  try {
    sock.connect(url);
    await sock.send('ping');
    const [reply] = await sock.receive();
    return reply?.toString() === 'ping';
  } catch {
    return false;
  } finally {
    sock.close();
  }
}
