/**
 * Hostile WebSocket traffic on the kernel channels (issue 11): messages that are malformed
 * (random bytes and JSON in both wire protocols), oversized, or broken at the WebSocket
 * frame level, and kernel messages with a missing or wrong signature. Each is dropped with a
 * logged reason; the connection and the kernel live on. Frames that break the WebSocket
 * protocol itself are sent to the built agent in `websocket-frames.test.ts`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import WebSocket from 'ws';
import { startGateway, type TestGateway } from '../utils/gateway';
import { legacyMessage, parseLegacy, RawChannel } from '../utils/kernel';
import { nastyJson, nastyString } from '../../../server/test/hostile/arbitraries';

const LIMIT = 64 << 10;

describe('hostile input: kernel WebSocket', () => {
  let gw: TestGateway;
  let kernelId: string;
  const wsUrl = (session: string): string => `${gw.url.replace(/^http/, 'ws')}api/kernels/${kernelId}/channels?session_id=${session}&token=${gw.token}`;
  const dropped = (): number => gw.logs.filter(l => /dropped a (malformed )?client message|dropped a client message/.test(l)).length;

  beforeAll(async () => {
    gw = await startGateway({ maxWebSocketMessageBytes: LIMIT });
    const res = await fetch(`${gw.url}api/kernels`, { method: 'POST', headers: { Authorization: `token ${gw.token}` }, body: '{"name":"python3"}' });
    kernelId = ((await res.json()) as { id: string }).id;
  });

  afterAll(async () => {
    await gw?.dispose();
  });

  /** The connection still carries requests and replies. */
  async function answers(ch: RawChannel, session: string): Promise<void> {
    const info = legacyMessage('shell', 'kernel_info_request', {}, session);
    ch.ws.send(info.text);
    await ch.until(rx => rx.map(safeParse).find(m => m?.parent_header?.msg_id === info.id && m.msg_type === 'kernel_info_reply'));
  }

  it('should drop random and malformed messages (legacy protocol) with a logged reason and keep serving', async () => {
    const ch = await RawChannel.open(wsUrl('hostile-legacy'));
    const malformed = fc.oneof(
      nastyString(200),
      nastyJson.map(v => JSON.stringify(v)),
      fc.record({ channel: fc.oneof(fc.constantFrom('shell', 'control', 'stdin', 'iopub', 'nowhere'), nastyString(10)), header: nastyJson, content: nastyJson }).map(v => JSON.stringify(v)),
      fc.uint8Array({ minLength: 1, maxLength: 300 }).map(b => Buffer.from(b))
    );
    await fc.assert(
      fc.asyncProperty(fc.array(malformed, { minLength: 1, maxLength: 20 }), async batch => {
        const before = dropped();
        for (const m of batch) ch.ws.send(m);
        await answers(ch, 'hostile-legacy');
        // Every one of them was refused and said so (none is a valid message with a header).
        expect(dropped() - before).toBe(batch.length);
        expect(ch.ws.readyState).toBe(WebSocket.OPEN);
      }),
      { numRuns: 40 }
    );
    await ch.close();
  }, 120_000);

  it('should drop random binary frames on the v1 protocol with a logged reason', async () => {
    const ch = await RawChannel.open(wsUrl('hostile-v1'), ['v1.kernel.websocket.jupyter.org']);
    expect(ch.ws.protocol).toBe('v1.kernel.websocket.jupyter.org');
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 200 }), { minLength: 1, maxLength: 10 }), async frames => {
        const before = dropped();
        for (const f of frames) ch.ws.send(Buffer.from(f), { binary: true });
        // A v1 request to prove the connection still works.
        const ok = v1Message('shell', 'kernel_info_request', 'hostile-v1');
        ch.ws.send(ok.frame, { binary: true });
        await ch.until(rx => rx.some(r => r.binary && (r.data as Buffer).includes(ok.id)));
        expect(dropped() - before).toBe(frames.length);
      }),
      { numRuns: 40 }
    );
    await ch.close();
  }, 120_000);

  // Over TCP another local process could take a kernel's port, so signatures are checked
  // there; over IPC (the default) the sockets sit in the agent's 0700 runtime dir and only the
  // kernel it started is on the other end (kernel.ts `verifyIncoming`).
  it('should drop kernel messages whose signature is missing or wrong (TCP transport), and say why', async () => {
    const tcp = await startGateway({ transport: 'tcp' });
    try {
      const res = await fetch(`${tcp.url}api/kernels`, { method: 'POST', headers: { Authorization: `token ${tcp.token}` }, body: '{"name":"python3"}' });
      const id = ((await res.json()) as { id: string }).id;
      await forged(tcp, `${tcp.url.replace(/^http/, 'ws')}api/kernels/${id}/channels?session_id=forged&token=${tcp.token}`);
    } finally {
      await tcp.dispose();
    }
  }, 60_000);

  async function forged(gw: TestGateway, url: string): Promise<void> {
    const ch = await RawChannel.open(url);
    const before = gw.logs.filter(l => l.includes('dropped a kernel message')).length;
    // Kernel-side code sends two forged iopub messages (no signature, a wrong one) and a
    // properly signed one; only the signed one may reach the client.
    const code = [
      'import json, uuid',
      'k = get_ipython().kernel',
      'def frames(text, sig):',
      '    h = json.dumps({"msg_id": "forged-" + text, "msg_type": "stream", "session": k.session.session, "username": "x", "date": "2020-01-01T00:00:00Z", "version": "5.3"}).encode()',
      '    return [b"stream", b"<IDS|MSG>", sig, h, b"{}", b"{}", json.dumps({"name": "stdout", "text": text}).encode()]',
      'k.iopub_socket.send_multipart(frames("unsigned", b""))',
      'k.iopub_socket.send_multipart(frames("wrongsig", b"0" * 64))',
      'k.session.send(k.iopub_socket, "stream", {"name": "stdout", "text": "signed"}, parent=k.get_parent("shell"))'
    ].join('\n');
    const exec = legacyMessage('shell', 'execute_request', { code, silent: false, store_history: false, user_expressions: {}, allow_stdin: false, stop_on_error: true }, 'forged');
    ch.ws.send(exec.text);
    await ch.until(rx => rx.map(safeParse).find(m => m?.msg_type === 'stream' && m.content?.text === 'signed'));
    await ch.until(rx => rx.map(safeParse).find(m => m?.parent_header?.msg_id === exec.id && m.msg_type === 'status' && m.content?.execution_state === 'idle'));
    const texts = ch.received.map(safeParse).filter(m => m?.msg_type === 'stream').map(m => m!.content.text);
    expect(texts).toEqual(['signed']);
    const lines = gw.logs.filter(l => l.includes('dropped a kernel message')).slice(before);
    expect(lines.length).toBe(2);
    for (const l of lines) expect(l).toMatch(/signature does not match/);
    await ch.close();
  }
});

function safeParse(frame: { data: Buffer | string; binary: boolean }): Record<string, any> | undefined {
  try {
    return parseLegacy(frame).msg;
  } catch {
    return undefined;
  }
}

/** A v1 kernel-protocol frame: offsets, channel, then the message parts. */
function v1Message(channel: string, msgType: string, session: string): { id: string; frame: Buffer } {
  const id = `${msgType}-${Math.random().toString(36).slice(2)}`;
  const parts = [
    Buffer.from(channel),
    Buffer.from(JSON.stringify({ msg_id: id, msg_type: msgType, session, username: 't', date: new Date().toISOString(), version: '5.3' })),
    Buffer.from('{}'), Buffer.from('{}'), Buffer.from('{}')
  ];
  const n = parts.length;
  const head = Buffer.alloc(8 * (n + 2));
  head.writeBigUInt64LE(BigInt(n + 1), 0);
  let offset = head.length;
  parts.forEach((p, i) => {
    head.writeBigUInt64LE(BigInt(offset), 8 * (i + 1));
    offset += p.length;
  });
  head.writeBigUInt64LE(BigInt(offset), 8 * (n + 1));
  return { id, frame: Buffer.concat([head, ...parts]) };
}
