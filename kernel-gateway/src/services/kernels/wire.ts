/**
 * The Jupyter wire protocol over ZeroMQ: `[identities…, '<IDS|MSG>', signature, header,
 * parent_header, metadata, content, buffers…]`, signed with HMAC-SHA256 over the four JSON
 * frames (https://jupyter-client.readthedocs.io/en/stable/messaging.html#the-wire-protocol).
 *
 * #### Notes
 * Frames are kept as raw bytes end to end: a message from a kernel reaches a v1 WebSocket
 * client without being parsed and re-encoded, which is most of our latency advantage.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const DELIMITER = Buffer.from('<IDS|MSG>');

/** The four signed JSON frames plus binary buffers, still encoded. */
export interface RawMessage {
  header: Buffer;
  parentHeader: Buffer;
  metadata: Buffer;
  content: Buffer;
  buffers: Buffer[];
}

/** The header fields we route on; the full header is passed through untouched. */
export interface HeaderPeek {
  msg_id: string;
  msg_type: string;
  session?: string;
}

/** Signs and verifies messages with the connection file's key. An empty key disables signing. */
export class Signer {
  private readonly _key: Buffer;

  constructor(key: string, scheme = 'hmac-sha256') {
    if (scheme !== 'hmac-sha256') throw new Error(`unsupported signature scheme "${scheme}" (only hmac-sha256)`);
    this._key = Buffer.from(key, 'utf8');
  }

  sign(msg: Pick<RawMessage, 'header' | 'parentHeader' | 'metadata' | 'content'>): Buffer {
    if (this._key.length === 0) return Buffer.alloc(0);
    const h = createHmac('sha256', this._key);
    h.update(msg.header);
    h.update(msg.parentHeader);
    h.update(msg.metadata);
    h.update(msg.content);
    return Buffer.from(h.digest('hex'), 'latin1');
  }

  verify(signature: Buffer, msg: RawMessage): boolean {
    if (this._key.length === 0) return true;
    const expected = this.sign(msg);
    return signature.length === expected.length && timingSafeEqual(signature, expected);
  }
}

/**
 * Splits ZeroMQ frames into identities and a message, verifying the signature unless told
 * the peer is trusted.
 * @param verify - false for frames from a peer only this process can reach (see `Kernel`).
 * @throws Error when the delimiter is missing, frames are missing or the signature is wrong.
 */
export function fromFrames(frames: Buffer[], signer: Signer, verify = true): { identities: Buffer[]; msg: RawMessage } {
  let i = 0;
  while (i < frames.length && !frames[i]!.equals(DELIMITER)) i++;
  if (i === frames.length) throw new Error('message has no <IDS|MSG> delimiter');
  if (frames.length < i + 6) throw new Error(`message has ${frames.length - i - 1} frames after the delimiter, expected at least 5`);
  const msg: RawMessage = {
    header: frames[i + 2]!,
    parentHeader: frames[i + 3]!,
    metadata: frames[i + 4]!,
    content: frames[i + 5]!,
    buffers: frames.slice(i + 6)
  };
  if (verify && !signer.verify(frames[i + 1]!, msg)) throw new Error('message signature does not match');
  return { identities: frames.slice(0, i), msg };
}

/** Builds the frames to send from a DEALER socket (no identities). */
export function toFrames(msg: RawMessage, signer: Signer): Buffer[] {
  return [DELIMITER, signer.sign(msg), msg.header, msg.parentHeader, msg.metadata, msg.content, ...msg.buffers];
}

/** Parses just enough of a header to route the message. */
export function peekHeader(header: Buffer): HeaderPeek {
  const h = JSON.parse(header.toString('utf8')) as Partial<HeaderPeek>;
  if (typeof h.msg_type !== 'string' || typeof h.msg_id !== 'string') {
    throw new Error('message header lacks msg_id or msg_type');
  }
  return h as HeaderPeek;
}

/** Encodes a JS message part as a frame. */
export function jsonFrame(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value ?? {}), 'utf8');
}
