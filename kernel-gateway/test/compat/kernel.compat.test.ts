import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KernelManager, KernelSpecManager, type Kernel, type KernelMessage } from '@jupyterlab/services';
import { startGateway, type TestGateway } from '../utils/gateway';
import { run, writeKernelSpec } from '../utils/kernel';

const waitFor = async (pred: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise(r => setTimeout(r, 25));
  }
};

describe('kernels through @jupyterlab/services', () => {
  let gw: TestGateway;
  let manager: KernelManager;
  let specDir: string;
  const auth = () => ({ Authorization: `token ${gw.token}` });

  beforeAll(async () => {
    specDir = await mkdtemp(join(tmpdir(), 'nbkg-specs-'));
    await writeKernelSpec(specDir, 'python3-msg', { interrupt_mode: 'message' });
    // With a spare, as agents run: JupyterLab's client must not notice which kernels were spares.
    gw = await startGateway({ jupyterPath: [specDir], kernelRestartLimit: 2, kernelPrespawn: 1 });
    manager = new KernelManager({ serverSettings: gw.settings });
    await manager.ready;
  });

  afterAll(async () => {
    manager?.dispose();
    await gw?.dispose();
    await rm(specDir, { recursive: true, force: true });
  });

  it('should list the python3 kernelspec with its logos', async () => {
    const specs = new KernelSpecManager({ serverSettings: gw.settings });
    await specs.ready;
    expect(specs.specs?.default).toBe('python3');
    const py = specs.specs!.kernelspecs.python3!;
    expect(py.language).toBe('python');
    expect(Object.keys(specs.specs!.kernelspecs).sort()).toEqual(['python3', 'python3-msg']);
    const logo = py.resources['logo-64x64']!;
    const res = await fetch(new URL(logo, gw.url), { headers: auth() });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await res.arrayBuffer()).subarray(1, 4).toString()).toBe('PNG');
    specs.dispose();
  });

  describe('execute', () => {
    let kernel: Kernel.IKernelConnection;
    beforeAll(async () => {
      kernel = await manager.startNew({ name: 'python3' });
    });
    afterAll(async () => {
      await kernel?.shutdown();
    });

    it('should execute 6*7 and read 42 from the execute result', async () => {
      const r = await run(kernel, '6*7');
      expect(r.reply.content.status).toBe('ok');
      expect(r.results).toEqual(['42']);
    });

    it('should stream stdout and stderr in order', async () => {
      const r = await run(kernel, 'import sys\nfor i in range(3): print("line", i, flush=True)\nprint("oops", file=sys.stderr)');
      expect(r.stdout).toBe('line 0\nline 1\nline 2\n');
      expect(r.stderr).toBe('oops\n');
    });

    it('should deliver a large output intact (sent as WebSocket fragments)', async () => {
      const r = await run(kernel, "import sys\nsys.stdout.write('0123456789' * 300_000 + '\\n'); sys.stdout.flush()");
      expect(r.stdout.length).toBe(3_000_001);
      expect(r.stdout.startsWith('01234567890123')).toBe(true);
    });

    it('should report errors with their traceback', async () => {
      const r = await run(kernel, 'def f():\n    return 1/0\nf()');
      expect(r.reply.content.status).toBe('error');
      expect(r.errors).toHaveLength(1);
      expect(r.errors[0]!.ename).toBe('ZeroDivisionError');
      // eslint-disable-next-line no-control-regex
      const plain = r.errors[0]!.traceback.join('\n').replace(/\x1b\[[0-9;]*m/g, '');
      expect(plain).toContain('return 1/0');
      expect(plain).toContain('ZeroDivisionError: division by zero');
    });

    it('should answer input() through stdin', async () => {
      const prompts: string[] = [];
      const r = await run(kernel, 'name = input("who? ")\nprint("hello", name)', p => {
        prompts.push(p);
        return 'ada';
      });
      expect(prompts).toEqual(['who? ']);
      expect(r.stdout).toContain('hello ada');
    });

    it('should track execution_state and last_activity in the REST model', async () => {
      const before = (await (await fetch(`${gw.url}api/kernels/${kernel.id}`, { headers: auth() })).json()) as { last_activity: string };
      const future = kernel.requestExecute({ code: 'import time; time.sleep(0.8)' });
      await waitFor(async () => ((await (await fetch(`${gw.url}api/kernels/${kernel.id}`, { headers: auth() })).json()) as { execution_state: string }).execution_state === 'busy');
      await future.done;
      const after = (await (await fetch(`${gw.url}api/kernels/${kernel.id}`, { headers: auth() })).json()) as Record<string, unknown>;
      expect(after).toMatchObject({ id: kernel.id, name: 'python3', execution_state: 'idle', connections: 1 });
      expect(Date.parse(after.last_activity as string)).toBeGreaterThan(Date.parse(before.last_activity));
    });

    it('should interrupt a while True loop by signal', async () => {
      const future = kernel.requestExecute({ code: 'while True: pass' });
      await waitFor(() => kernel.status === 'busy');
      await new Promise(r => setTimeout(r, 200));
      await kernel.interrupt();
      const reply = (await future.done) as KernelMessage.IExecuteReplyMsg;
      expect(reply.content.status).toBe('error');
      expect((reply.content as KernelMessage.IReplyErrorContent).ename).toBe('KeyboardInterrupt');
    });

    it('should open, message and close a comm, with binary buffers both ways', async () => {
      await run(
        kernel,
        [
          'def _target(comm, open_msg):',
          '    @comm.on_msg',
          '    def _echo(msg):',
          '        comm.send({"echo": msg["content"]["data"], "n": len(msg["buffers"])}, buffers=[bytes(b)[::-1] for b in msg["buffers"]])',
          '    @comm.on_close',
          '    def _closed(msg):',
          '        print("closed", msg["content"]["data"])',
          '    comm.send({"opened": open_msg["content"]["data"]})',
          'get_ipython().kernel.comm_manager.register_target("echo_target", _target)'
        ].join('\n')
      );
      const comm = kernel.createComm('echo_target');
      const got: KernelMessage.ICommMsgMsg[] = [];
      comm.onMsg = msg => void got.push(msg);
      await comm.open({ hello: 1 }).done;
      await waitFor(() => got.length === 1);
      expect(got[0]!.content.data).toEqual({ opened: { hello: 1 } });
      await comm.send({ x: 2 }, undefined, [new Uint8Array([1, 2, 3]).buffer]).done;
      await waitFor(() => got.length === 2);
      expect(got[1]!.content.data).toEqual({ echo: { x: 2 }, n: 1 });
      const buf = got[1]!.buffers![0]!;
      expect([...new Uint8Array(buf instanceof DataView ? buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) : (buf as ArrayBuffer))]).toEqual([3, 2, 1]);
      const closedOutput: string[] = [];
      kernel.iopubMessage.connect((_s, msg) => {
        if (msg.header.msg_type === 'stream') closedOutput.push((msg as KernelMessage.IStreamMsg).content.text);
      });
      await comm.close({ bye: true }).done;
      await waitFor(() => closedOutput.join('').includes("closed {'bye': True}"));
    });

    it('should receive comms the kernel opens and closes', async () => {
      const events: string[] = [];
      kernel.registerCommTarget('from_kernel', (comm, msg) => {
        events.push(`open ${JSON.stringify(msg.content.data)}`);
        comm.onMsg = m => void events.push(`msg ${JSON.stringify(m.content.data)}`);
        comm.onClose = () => void events.push('close');
      });
      await run(kernel, 'from ipykernel.comm import Comm\nc = Comm(target_name="from_kernel", data={"v": 1})\nc.send({"w": 2})\nc.close()');
      await waitFor(() => events.length === 3);
      expect(events).toEqual(['open {"v":1}', 'msg {"w":2}', 'close']);
    });

    it('should restart, losing state, and keep the same id', async () => {
      await run(kernel, 'kept = 1');
      await kernel.restart();
      const r = await run(kernel, 'kept');
      expect(r.errors[0]?.ename).toBe('NameError');
      const res = await fetch(`${gw.url}api/kernels/${kernel.id}`, { headers: auth() });
      expect(res.status).toBe(200);
    });
  });

  it('should interrupt by control message when the kernelspec says interrupt_mode=message', async () => {
    const kernel = await manager.startNew({ name: 'python3-msg' });
    const future = kernel.requestExecute({ code: 'while True: pass' });
    await waitFor(() => kernel.status === 'busy');
    await new Promise(r => setTimeout(r, 200));
    const logged = gw.logs.length;
    await kernel.interrupt();
    const reply = (await future.done) as KernelMessage.IExecuteReplyMsg;
    expect((reply.content as KernelMessage.IReplyErrorContent).ename).toBe('KeyboardInterrupt');
    expect(gw.logs.slice(logged).some(l => l.includes('"msg":"interrupting"') && l.includes('"mode":"message"'))).toBe(true);
    await kernel.shutdown();
  });

  it('should fan iopub out to several clients and route replies to the asker only', async () => {
    const a = await manager.startNew({ name: 'python3' });
    const b = manager.connectTo({ model: a.model });
    await b.info;
    const seenByB: string[] = [];
    const repliesToB: string[] = [];
    b.iopubMessage.connect((_s, msg) => {
      if (msg.header.msg_type === 'stream') seenByB.push((msg as KernelMessage.IStreamMsg).content.text);
    });
    b.anyMessage.connect((_s, { msg, direction }) => {
      if (direction === 'recv' && msg.channel === 'shell') repliesToB.push(msg.header.msg_type);
    });
    const r = await run(a, 'print("to everyone")');
    expect(r.stdout).toBe('to everyone\n');
    await waitFor(() => seenByB.join('') === 'to everyone\n');
    expect(repliesToB).toEqual([]);
    b.dispose();
    await a.shutdown();
  });

  it('should restart a kernel that dies, then declare it dead after too many deaths', async () => {
    const kernel = await manager.startNew({ name: 'python3' });
    const states: string[] = [];
    kernel.statusChanged.connect((_s, st) => void states.push(st));
    void kernel.requestExecute({ code: 'import os; os._exit(1)' }).done.catch(() => undefined);
    await waitFor(() => states.includes('autorestarting'));
    await waitFor(() => kernel.status === 'idle' && kernel.connectionStatus === 'connected');
    const r = await run(kernel, '1+1');
    expect(r.results).toEqual(['2']);
    // The limit is 2 per minute in this gateway: the third death is final.
    for (let i = 0; i < 2; i++) {
      void kernel.requestExecute({ code: 'import os; os._exit(1)' }).done.catch(() => undefined);
      await waitFor(() => states.filter(s => s === 'restarting' || s === 'dead').length >= i + 2, 30_000);
      if (i === 0) await waitFor(() => kernel.status === 'idle' && kernel.connectionStatus === 'connected');
    }
    await waitFor(() => states.includes('dead'));
    const model = (await (await fetch(`${gw.url}api/kernels/${kernel.id}`, { headers: auth() })).json()) as { execution_state: string };
    expect(model.execution_state).toBe('dead');
    await fetch(`${gw.url}api/kernels/${kernel.id}`, { method: 'DELETE', headers: auth() });
    kernel.dispose();
  });

  it('should answer 404 with a Jupyter error body for an unknown kernel', async () => {
    const res = await fetch(`${gw.url}api/kernels/nope`, { headers: auth() });
    expect(res.status).toBe(404);
    const body = (await res.json()) as { message: string; reason: string };
    expect(body.message).toContain('nope');
    expect(body.reason).toBe('Not Found');
  });

  it('should answer 404 for an unknown kernelspec and 400 for a bad body', async () => {
    const post = (body: string) => fetch(`${gw.url}api/kernels`, { method: 'POST', headers: auth(), body });
    const unknown = await post('{"name":"cobol"}');
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { message: string }).message).toMatch(/available: python3/);
    expect((await post('{"name":3}')).status).toBe(400);
    expect((await post('{"env":{"1BAD":"x"}}')).status).toBe(400);
    expect((await post('not json')).status).toBe(400);
  });

  it('should refuse requests without the token', async () => {
    const res = await fetch(`${gw.url}api/kernels`);
    expect(res.status).toBe(403);
  });
});
