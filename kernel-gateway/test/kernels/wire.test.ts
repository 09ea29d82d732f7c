import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KernelManager } from '@jupyterlab/services';
import { DELIMITER, fromFrames, jsonFrame, Signer, toFrames, type RawMessage } from '../../src/services/kernels/wire';
import { startGateway, type TestGateway } from '../utils/gateway';
import { run } from '../utils/kernel';

const msg: RawMessage = {
  header: jsonFrame({ msg_id: 'a', msg_type: 'status' }),
  parentHeader: jsonFrame({}),
  metadata: jsonFrame({}),
  content: jsonFrame({ execution_state: 'idle' }),
  buffers: [Buffer.from('b')]
};

describe('wire', () => {
  it('should sign as jupyter_client does (HMAC-SHA256 over the four JSON frames, hex)', () => {
    const signer = new Signer('key');
    const frames = toFrames(msg, signer);
    expect(frames[0]!.equals(DELIMITER)).toBe(true);
    expect(frames[1]!.toString()).toMatch(/^[0-9a-f]{64}$/);
    const back = fromFrames([Buffer.from('ident'), ...frames], signer);
    expect(back.identities.map(b => b.toString())).toEqual(['ident']);
    expect(back.msg.buffers.map(b => b.toString())).toEqual(['b']);
  });

  it('should refuse a wrong signature unless told the peer is trusted', () => {
    const frames = toFrames(msg, new Signer('other-key'));
    expect(() => fromFrames(frames, new Signer('key'))).toThrow(/signature/);
    expect(fromFrames(frames, new Signer('key'), false).msg.content.toString()).toBe('{"execution_state":"idle"}');
    expect(() => fromFrames([Buffer.from('x')], new Signer('key'))).toThrow(/delimiter/);
  });
});

describe('kernels over the tcp transport (signatures checked both ways)', () => {
  let gw: TestGateway;
  let manager: KernelManager;
  beforeAll(async () => {
    gw = await startGateway({ transport: 'tcp' });
    manager = new KernelManager({ serverSettings: gw.settings });
  });
  afterAll(async () => {
    manager?.dispose();
    await gw?.dispose();
  });

  it('should run code', async () => {
    const kernel = await manager.startNew({ name: 'python3' });
    expect((await run(kernel, 'print(2**10)')).stdout).toBe('1024\n');
    await kernel.shutdown();
  });
});
