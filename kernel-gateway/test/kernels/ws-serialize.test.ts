import { describe, expect, it } from 'vitest';
import { deserialize, serialize } from '@jupyterlab/services/lib/kernel/serialize';
import type { KernelMessage } from '@jupyterlab/services';
import { decodeLegacy, decodeV1, encodeLegacy, encodeV1, encodeV1Parts, V1_PROTOCOL } from '../../src/services/kernels/ws-serialize';
import { jsonFrame, type RawMessage } from '../../src/services/kernels/wire';

const raw = (content: unknown, buffers: Buffer[] = []): RawMessage => ({
  header: jsonFrame({ msg_id: 'm1', msg_type: 'comm_msg', session: 's', username: 'u', date: '2026-01-01T00:00:00Z', version: '5.3' }),
  parentHeader: jsonFrame({ msg_id: 'p1', msg_type: 'comm_msg' }),
  metadata: jsonFrame({}),
  content: jsonFrame(content),
  buffers
});

describe('ws-serialize', () => {
  it('should encode v1 frames that @jupyterlab/services decodes, buffers included', () => {
    const frame = encodeV1('iopub', raw({ data: { x: 1 } }, [Buffer.from([1, 2]), Buffer.from('abc')]));
    const ab = frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength);
    const msg = deserialize(ab as ArrayBuffer, V1_PROTOCOL) as KernelMessage.IMessage;
    expect(msg.channel).toBe('iopub');
    expect(msg.header.msg_id).toBe('m1');
    expect(msg.parent_header).toMatchObject({ msg_id: 'p1' });
    expect(msg.content).toEqual({ data: { x: 1 } });
    expect(msg.buffers!.map(b => [...new Uint8Array((b as DataView).buffer, (b as DataView).byteOffset, (b as DataView).byteLength)])).toEqual([[1, 2], [97, 98, 99]]);
  });

  it('should make fragments that concatenate to the single v1 frame', () => {
    const msg = raw({ text: 'x'.repeat(5000) }, [Buffer.alloc(3000, 7)]);
    expect(Buffer.concat(encodeV1Parts('shell', msg)).equals(encodeV1('shell', msg))).toBe(true);
    const empty = raw({});
    expect(Buffer.concat(encodeV1Parts('iopub', empty)).equals(encodeV1('iopub', empty))).toBe(true);
  });

  it('should decode what @jupyterlab/services encodes, in both protocols', () => {
    const msg = {
      channel: 'shell', header: { msg_id: 'a', msg_type: 'execute_request', session: 's', username: 'u', date: '', version: '5.3' },
      parent_header: {}, metadata: {}, content: { code: '1+1' }, buffers: [new Uint8Array([9, 8]).buffer]
    } as unknown as KernelMessage.IMessage;
    const v1 = serialize(msg, V1_PROTOCOL) as ArrayBuffer;
    const a = decodeV1(Buffer.from(v1));
    expect(a.channel).toBe('shell');
    expect(JSON.parse(a.msg.content.toString())).toEqual({ code: '1+1' });
    expect(a.msg.buffers.map(b => [...b])).toEqual([[9, 8]]);
    const legacy = serialize(msg, '') as ArrayBuffer;
    const b = decodeLegacy(Buffer.from(legacy));
    expect(b.channel).toBe('shell');
    expect(b.msg.buffers.map(x => [...x])).toEqual([[9, 8]]);
  });

  it('should encode legacy messages without re-serialising the kernel JSON', () => {
    const text = encodeLegacy('iopub', raw({ text: 'é\n' }), 'm1', 'stream') as string;
    const parsed = JSON.parse(text);
    expect(parsed).toMatchObject({ channel: 'iopub', msg_id: 'm1', msg_type: 'stream', content: { text: 'é\n' }, buffers: [] });
    const withBuffers = encodeLegacy('iopub', raw({}, [Buffer.from('zz')]), 'm1', 'comm_msg') as Buffer;
    const back = deserialize(withBuffers.buffer.slice(withBuffers.byteOffset, withBuffers.byteOffset + withBuffers.byteLength) as ArrayBuffer, '');
    expect(back.header.msg_id).toBe('m1');
    expect(back.buffers).toHaveLength(1);
  });

  it('should refuse malformed frames with a reason', () => {
    expect(() => decodeV1(Buffer.alloc(4))).toThrow(/shorter/);
    const bad = Buffer.alloc(16);
    bad.writeBigUInt64LE(100n, 0);
    expect(() => decodeV1(bad)).toThrow(/offset count/);
    expect(() => decodeLegacy('{"channel":"nowhere","header":{}}')).toThrow(/unknown channel/);
    expect(() => decodeLegacy('{"channel":"shell"}')).toThrow(/no header/);
    expect(() => decodeLegacy('[1')).toThrow();
  });
});
