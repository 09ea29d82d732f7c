/**
 * The two WebSocket encodings of kernel messages that Jupyter clients speak:
 *
 * - `v1.kernel.websocket.jupyter.org`: binary frames
 *   `[n: u64le][offsets: n × u64le][channel][header][parent][metadata][content][buffers…]`;
 * - the legacy protocol (no subprotocol): a JSON text frame, or, when a message carries
 *   buffers, `[n: u32be][offsets: n × u32be][json][buffers…]`.
 *
 * Both are specified in jupyter_server's `services/kernels/connection/base.py` and
 * mirrored by `@jupyterlab/services` `kernel/serialize.ts`.
 */
import type { RawMessage } from './wire';
import { jsonFrame } from './wire';

export const V1_PROTOCOL = 'v1.kernel.websocket.jupyter.org';

export type Channel = 'shell' | 'iopub' | 'stdin' | 'control';
const CHANNELS: ReadonlySet<string> = new Set(['shell', 'iopub', 'stdin', 'control']);

export function isChannel(v: unknown): v is Channel {
  return typeof v === 'string' && CHANNELS.has(v);
}

/** Encodes a message in the v1 binary format, copying the raw frames once. */
export function encodeV1(channel: Channel, msg: RawMessage): Buffer {
  const parts = [Buffer.from(channel, 'utf8'), msg.header, msg.parentHeader, msg.metadata, msg.content, ...msg.buffers];
  const count = parts.length + 1;
  const headerSize = 8 * (1 + count);
  let total = headerSize;
  for (const p of parts) total += p.length;
  const out = Buffer.allocUnsafe(total);
  out.writeBigUInt64LE(BigInt(count), 0);
  let offset = headerSize;
  out.writeBigUInt64LE(BigInt(offset), 8);
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    p.copy(out, offset);
    offset += p.length;
    out.writeBigUInt64LE(BigInt(offset), 8 * (i + 2));
  }
  return out;
}

/**
 * The v1 encoding as a list of buffers that concatenate to `encodeV1`'s result, without
 * copying the message's frames: large messages are sent as WebSocket fragments from it.
 */
export function encodeV1Parts(channel: Channel, msg: RawMessage): Buffer[] {
  const body = [msg.header, msg.parentHeader, msg.metadata, msg.content, ...msg.buffers];
  const channelBytes = Buffer.from(channel, 'utf8');
  const count = body.length + 2;
  const headerSize = 8 * (1 + count);
  const head = Buffer.allocUnsafe(headerSize + channelBytes.length);
  head.writeBigUInt64LE(BigInt(count), 0);
  let offset = headerSize;
  head.writeBigUInt64LE(BigInt(offset), 8);
  offset += channelBytes.length;
  head.writeBigUInt64LE(BigInt(offset), 16);
  body.forEach((p, i) => {
    offset += p.length;
    head.writeBigUInt64LE(BigInt(offset), 8 * (i + 3));
  });
  channelBytes.copy(head, headerSize);
  return [head, ...body];
}

/** Bytes of a message's frames (what a v1 encoding copies). */
export function rawSize(msg: RawMessage): number {
  let n = msg.header.length + msg.parentHeader.length + msg.metadata.length + msg.content.length;
  for (const b of msg.buffers) n += b.length;
  return n;
}

/**
 * Decodes a v1 binary frame.
 * @throws Error when the offsets are inconsistent or the channel is unknown.
 */
export function decodeV1(data: Buffer): { channel: Channel; msg: RawMessage } {
  if (data.length < 8) throw new Error('v1 frame shorter than its offset count');
  const count = Number(data.readBigUInt64LE(0));
  if (count < 6 || 8 * (1 + count) > data.length) throw new Error(`v1 frame has an invalid offset count ${count}`);
  const offsets: number[] = [];
  for (let i = 0; i < count; i++) {
    const o = Number(data.readBigUInt64LE(8 * (i + 1)));
    if (o > data.length || (i > 0 && o < offsets[i - 1]!)) throw new Error('v1 frame offsets are out of order or out of bounds');
    offsets.push(o);
  }
  const part = (i: number): Buffer => data.subarray(offsets[i]!, offsets[i + 1]!);
  const channel = part(0).toString('utf8');
  if (!isChannel(channel)) throw new Error(`unknown channel "${channel}"`);
  const buffers: Buffer[] = [];
  for (let i = 5; i < count - 1; i++) buffers.push(part(i));
  return {
    channel,
    msg: { header: part(1), parentHeader: emptyToObject(part(2)), metadata: part(3), content: part(4), buffers }
  };
}

function emptyToObject(b: Buffer): Buffer {
  return b.length === 0 ? Buffer.from('{}') : b;
}

/**
 * Encodes a message in the legacy protocol. The JSON text is assembled from the raw
 * frames, so the kernel's JSON is not parsed and re-serialised.
 */
export function encodeLegacy(channel: Channel, msg: RawMessage, msgId: string, msgType: string): string | Buffer {
  const json =
    `{"header":${msg.header.toString('utf8')},"msg_id":${JSON.stringify(msgId)},"msg_type":${JSON.stringify(msgType)}` +
    `,"parent_header":${msg.parentHeader.toString('utf8')},"metadata":${msg.metadata.toString('utf8')}` +
    `,"content":${msg.content.toString('utf8')},"channel":"${channel}","buffers":[]}`;
  if (msg.buffers.length === 0) return json;
  const parts = [Buffer.from(json, 'utf8'), ...msg.buffers];
  const n = parts.length;
  const headerSize = 4 * (n + 1);
  let total = headerSize;
  for (const p of parts) total += p.length;
  const out = Buffer.allocUnsafe(total);
  out.writeUInt32BE(n, 0);
  let offset = headerSize;
  for (let i = 0; i < n; i++) {
    out.writeUInt32BE(offset, 4 * (i + 1));
    parts[i]!.copy(out, offset);
    offset += parts[i]!.length;
  }
  return out;
}

/**
 * Decodes a legacy frame (text JSON, or binary with buffers).
 * @throws Error when the frame is not a valid message.
 */
export function decodeLegacy(data: Buffer | string): { channel: Channel; msg: RawMessage } {
  let json: string;
  let buffers: Buffer[] = [];
  if (typeof data === 'string') {
    json = data;
  } else {
    if (data.length < 8) throw new Error('binary frame too short');
    const n = data.readUInt32BE(0);
    if (n < 1 || 4 * (n + 1) > data.length) throw new Error(`binary frame has an invalid buffer count ${n}`);
    const offsets: number[] = [];
    for (let i = 0; i < n; i++) offsets.push(data.readUInt32BE(4 * (i + 1)));
    offsets.push(data.length);
    for (let i = 0; i < n; i++) {
      if (offsets[i]! > offsets[i + 1]! || offsets[i + 1]! > data.length) throw new Error('binary frame offsets out of bounds');
    }
    json = data.subarray(offsets[0]!, offsets[1]!).toString('utf8');
    for (let i = 1; i < n; i++) buffers.push(data.subarray(offsets[i]!, offsets[i + 1]!));
  }
  const obj = JSON.parse(json) as Record<string, unknown>;
  if (obj === null || typeof obj !== 'object') throw new Error('message is not a JSON object');
  const channel = obj.channel;
  if (!isChannel(channel)) throw new Error(`unknown channel "${String(channel)}"`);
  if (typeof obj.header !== 'object' || obj.header === null) throw new Error('message has no header');
  if (buffers.length === 0 && Array.isArray(obj.buffers) && obj.buffers.length > 0) {
    // Some clients send base64 buffers inline in a text frame.
    buffers = obj.buffers.filter((b): b is string => typeof b === 'string').map(b => Buffer.from(b, 'base64'));
  }
  return {
    channel,
    msg: {
      header: jsonFrame(obj.header),
      parentHeader: jsonFrame(obj.parent_header ?? {}),
      metadata: jsonFrame(obj.metadata ?? {}),
      content: jsonFrame(obj.content ?? {}),
      buffers
    }
  };
}
