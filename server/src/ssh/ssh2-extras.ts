/**
 * Two SSH messages ssh2's public API cannot send with a text, kept in one place because they
 * reach into its internals (pinned ssh2 1.17; `test/integration/ssh-*.test.ts` see the texts
 * in OpenSSH's output, so an upgrade that breaks them fails there):
 *
 * - DISCONNECT with a description (RFC 4253 §11.1): OpenSSH prints it, so a refused client
 *   reads why ("instance "demo" is STOPPED; start it first") instead of a bare
 *   "Permission denied" or a hang;
 * - CHANNEL_OPEN_FAILURE with a description (RFC 4254 §5.1): "channel 2: open failed:
 *   connect failed: nothing listens on 127.0.0.1:8080 inside the instance".
 */
import type { Connection } from 'ssh2';
import { sendPacket } from 'ssh2/lib/protocol/utils.js';

/** RFC 4253 §11.1 reason codes we use. */
export const DISCONNECT = {
  HOST_NOT_ALLOWED_TO_CONNECT: 1,
  PROTOCOL_ERROR: 2,
  BY_APPLICATION: 11,
  TOO_MANY_CONNECTIONS: 12,
  NO_MORE_AUTH_METHODS_AVAILABLE: 14,
  ILLEGAL_USER_NAME: 15
} as const;

/** RFC 4254 §5.1 reason codes. */
export const OPEN_FAILURE = {
  ADMINISTRATIVELY_PROHIBITED: 1,
  CONNECT_FAILED: 2,
  UNKNOWN_CHANNEL_TYPE: 3,
  RESOURCE_SHORTAGE: 4
} as const;

interface PacketWriter {
  allocStartKEX: number;
  alloc(len: number, forceNoCompress?: boolean): Buffer;
  finalize(packet: Buffer, forceNoCompress?: boolean): Buffer;
}

interface Internals {
  _protocol?: { _packetRW?: { write?: PacketWriter }; channelOpenFail(remote: number, reason: number, desc?: string): void };
  _sock?: { end(): void; destroyed?: boolean };
}

const MESSAGE_DISCONNECT = 1;

/**
 * Sends DISCONNECT with a human-readable description, then closes the socket.
 * Falls back to ssh2's plain `end()` if its internals ever change shape.
 */
export function disconnectWithMessage(client: Connection, reason: number, description: string): void {
  const c = client as unknown as Internals;
  const writer = c._protocol?._packetRW?.write;
  if (!writer || typeof writer.alloc !== 'function') {
    client.end();
    return;
  }
  const text = description.replace(/[\r\n]+/g, ' ').slice(0, 1_000);
  const len = Buffer.byteLength(text);
  try {
    let p = writer.allocStartKEX;
    const packet = writer.alloc(1 + 4 + 4 + len + 4, true);
    packet[p] = MESSAGE_DISCONNECT;
    packet.writeUInt32BE(reason, ++p);
    packet.writeUInt32BE(len, (p += 4));
    packet.write(text, (p += 4), len, 'utf8');
    packet.writeUInt32BE(0, p + len); // empty language tag
    sendPacket(c._protocol, writer.finalize(packet, true), true);
  } catch {
    client.end();
    return;
  }
  if (c._sock && !c._sock.destroyed) c._sock.end();
}

/**
 * Rejects a channel open with a reason code and description. ssh2's `reject()` sends an
 * empty description; this swaps the text in for that one call.
 */
export function rejectChannel(client: Connection, reject: () => void, reason: number, description: string): void {
  const proto = (client as unknown as Internals)._protocol;
  if (!proto || typeof proto.channelOpenFail !== 'function') {
    reject();
    return;
  }
  const original = proto.channelOpenFail;
  proto.channelOpenFail = (remote: number) => original.call(proto, remote, reason, description.slice(0, 1_000));
  try {
    reject();
  } finally {
    proto.channelOpenFail = original;
  }
}
