import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startGateway, type TestGateway } from '../utils/gateway';
import { legacyMessage, parseLegacy, RawChannel } from '../utils/kernel';

/** The kernel channels WebSocket spoken by hand: legacy JSON protocol and reconnects. */
describe('api/kernels/<id>/channels', () => {
  let gw: TestGateway;
  let kernelId: string;
  const wsUrl = (session: string) => `${gw.url.replace(/^http/, 'ws')}api/kernels/${kernelId}/channels?session_id=${session}&token=${gw.token}`;

  beforeAll(async () => {
    gw = await startGateway({ kernelReconnectWindowMs: 5_000 });
    const res = await fetch(`${gw.url}api/kernels`, { method: 'POST', headers: { Authorization: `token ${gw.token}` }, body: '{"name":"python3"}' });
    kernelId = ((await res.json()) as { id: string }).id;
  });

  afterAll(async () => {
    await gw?.dispose();
  });

  const replyTo = (id: string, type: string) => (rx: RawChannel['received']) =>
    rx.map(parseLegacy).find(({ msg }) => msg.parent_header?.msg_id === id && msg.msg_type === type);
  const idleAfter = (id: string) => (rx: RawChannel['received']) =>
    rx.map(parseLegacy).find(({ msg }) => msg.parent_header?.msg_id === id && msg.msg_type === 'status' && msg.content.execution_state === 'idle');

  it('should speak the legacy JSON protocol when no subprotocol is offered', async () => {
    const ch = await RawChannel.open(wsUrl('legacy-1'));
    expect(ch.ws.protocol).toBe('');
    const exec = legacyMessage('shell', 'execute_request', { code: 'print("hi")\n6*7', silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true }, 'legacy-1');
    ch.ws.send(exec.text);
    const { msg } = await ch.until(replyTo(exec.id, 'execute_reply'));
    expect(msg).toMatchObject({ channel: 'shell', msg_type: 'execute_reply', content: { status: 'ok' }, header: { msg_type: 'execute_reply' } });
    await ch.until(idleAfter(exec.id));
    const iopub = ch.received.map(parseLegacy).map(p => p.msg).filter(m => m.parent_header.msg_id === exec.id && m.channel === 'iopub');
    expect(iopub.map(m => m.msg_type)).toEqual(['status', 'execute_input', 'stream', 'execute_result', 'status']);
    expect(iopub[2]!.content).toEqual({ name: 'stdout', text: 'hi\n' });
    await ch.close();
  });

  it('should carry binary buffers in the legacy binary frame format', async () => {
    const ch = await RawChannel.open(wsUrl('legacy-2'));
    const setup = legacyMessage('shell', 'execute_request', {
      code: [
        'def _t(comm, msg):',
        '    comm.on_msg(lambda m: comm.send({"got": len(m["buffers"])}, buffers=[b"\\x00\\x01kernel"]))',
        'get_ipython().kernel.comm_manager.register_target("bin", _t)'
      ].join('\n'),
      silent: false
    }, 'legacy-2');
    ch.ws.send(setup.text);
    await ch.until(idleAfter(setup.id));
    const open = legacyMessage('shell', 'comm_open', { comm_id: 'c1', target_name: 'bin', data: {} }, 'legacy-2');
    ch.ws.send(open.text);
    // A client message with a buffer, in the binary framing: [n][offsets][json][buffer].
    const msg = legacyMessage('shell', 'comm_msg', { comm_id: 'c1', data: {} }, 'legacy-2');
    const json = Buffer.from(msg.text);
    const buf = Buffer.from('client-bytes');
    const frame = Buffer.alloc(12 + json.length + buf.length);
    frame.writeUInt32BE(2, 0);
    frame.writeUInt32BE(12, 4);
    frame.writeUInt32BE(12 + json.length, 8);
    json.copy(frame, 12);
    buf.copy(frame, 12 + json.length);
    ch.ws.send(frame);
    const got = await ch.until(rx => rx.filter(f => f.binary).map(parseLegacy).find(p => p.msg.msg_type === 'comm_msg'));
    expect(got.msg.content.data).toEqual({ got: 1 });
    expect(got.buffers.map(b => b.toString('latin1'))).toEqual(['\x00\x01kernel']);
    await ch.close();
  });

  it('should keep output for a client that reconnects with the same session', async () => {
    const first = await RawChannel.open(wsUrl('reconnect-1'));
    const exec = legacyMessage('shell', 'execute_request', { code: 'import time; time.sleep(0.5); print("while you were away")', silent: false }, 'reconnect-1');
    first.ws.send(exec.text);
    await first.until(rx => rx.map(parseLegacy).find(p => p.msg.msg_type === 'execute_input'));
    await first.close();
    await new Promise(r => setTimeout(r, 1_000));
    const second = await RawChannel.open(wsUrl('reconnect-1'));
    const { msg } = await second.until(replyTo(exec.id, 'execute_reply'));
    expect(msg.content.status).toBe('ok');
    await second.until(idleAfter(exec.id));
    const stream = second.received.map(parseLegacy).find(p => p.msg.msg_type === 'stream');
    expect(stream?.msg.content.text).toBe('while you were away\n');
    await second.close();
  });

  it('should drop malformed client messages and keep the connection', async () => {
    const ch = await RawChannel.open(wsUrl('bad-1'));
    ch.ws.send('not json');
    ch.ws.send(JSON.stringify({ channel: 'nowhere', header: {} }));
    ch.ws.send(JSON.stringify({ channel: 'iopub', header: { msg_id: 'x', msg_type: 'status' } }));
    const info = legacyMessage('shell', 'kernel_info_request', {}, 'bad-1');
    ch.ws.send(info.text);
    const { msg } = await ch.until(replyTo(info.id, 'kernel_info_reply'));
    expect(msg.content.implementation).toBe('ipython');
    await ch.close();
  });

  it('should refuse the upgrade for an unknown kernel with 404, and without the token with 403', async () => {
    const status = (url: string) =>
      new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(url);
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('open', () => reject(new Error('upgrade was accepted')));
      });
    const base = gw.url.replace(/^http/, 'ws');
    expect(await status(`${base}api/kernels/00000000-0000-0000-0000-000000000000/channels?token=${gw.token}`)).toBe(404);
    expect(await status(`${base}api/kernels/${kernelId}/channels`)).toBe(403);
  });
});
