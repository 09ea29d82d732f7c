/**
 * How bytes move between an SSH channel and the agent's WebSocket, shared by session and
 * `direct-tcpip` channels: never re-encoded, and with backpressure (a slow agent pauses the
 * channel, which stops ssh2 from opening the client's window).
 */
import type { ServerChannel } from 'ssh2';
import type WebSocket from 'ws';

/** Bytes queued towards the agent above which the client's channel is paused. */
export const HIGH_WATER = 1 << 20;

/** A stream that can hold writes back (net.Socket). */
export interface Corkable {
  cork(): void;
  uncork(): void;
}

const corkedNow = new WeakSet<Corkable>();

/**
 * Corks a socket until the current tick ends: what is written meanwhile (the frames or
 * packets of one read) leaves in one `writev` instead of a syscall per write.
 */
export function corkForTick(socket: Corkable | undefined): void {
  if (!socket || corkedNow.has(socket)) return;
  corkedNow.add(socket);
  socket.cork();
  process.nextTick(() => {
    corkedNow.delete(socket);
    socket.uncork();
  });
}

/**
 * Sends what the client writes on `channel` to the agent as binary frames, pausing the
 * channel while more than `HIGH_WATER` bytes wait on the WebSocket; the client's EOF becomes
 * an `eof` event. With `cork`, the frames of one read leave in one `writev`.
 */
export function forwardChannelToAgent(channel: ServerChannel, ws: WebSocket, onActivity: () => void, cork?: Corkable): void {
  let channelPaused = false;
  channel.on('data', (chunk: Buffer) => {
    onActivity();
    corkForTick(cork);
    ws.send(chunk, { binary: true }, () => {
      if (channelPaused && ws.bufferedAmount < HIGH_WATER / 2) {
        channelPaused = false;
        channel.resume();
      }
    });
    if (!channelPaused && ws.bufferedAmount > HIGH_WATER) {
      channelPaused = true;
      channel.pause();
    }
  });
  channel.on('end', () => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ t: 'eof' }));
  });
}
