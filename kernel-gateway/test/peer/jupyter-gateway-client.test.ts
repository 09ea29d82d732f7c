/**
 * A Python peer: Debian's jupyter_server 1.23 with `--gateway-url` pointing at our kernel
 * gateway. Its GatewayClient lists our kernelspecs, starts kernels through us and relays
 * the kernel WebSocket: Python Jupyter clients work against us unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type TestGateway } from '../utils/gateway';
import { legacyMessage, parseLegacy, RawChannel, writeKernelSpec } from '../utils/kernel';

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>(r => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as AddressInfo;
  await new Promise(r => srv.close(r));
  return port;
}

describe('jupyter_server 1.23 --gateway-url=<our kernel gateway>', () => {
  let gw: TestGateway;
  let dir: string;
  let jupyter: ChildProcess;
  let jupyterUrl: string;
  const jupyterToken = 'peer-' + Math.random().toString(36).slice(2);
  const jauth = () => ({ Authorization: `token ${jupyterToken}` });
  let jupyterLog = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbkg-peer-'));
    // A kernelspec only our gateway knows: seeing it through jupyter proves the relay.
    await writeKernelSpec(join(dir, 'ours'), 'only-on-gateway', { display_name: 'Only on the gateway' });
    gw = await startGateway({ jupyterPath: [join(dir, 'ours')] });
    const port = await freePort();
    jupyterUrl = `http://127.0.0.1:${port}/`;
    jupyter = spawn(
      '/usr/bin/python3',
      [
        '-m', 'jupyter_server', '--no-browser', `--port=${port}`, '--port-retries=0', '--ip=127.0.0.1', '--allow-root',
        `--ServerApp.token=${jupyterToken}`, `--ServerApp.root_dir=${dir}`,
        `--gateway-url=http://127.0.0.1:${new URL(gw.url).port}`, `--GatewayClient.auth_token=${gw.token}`
      ],
      {
        env: {
          PATH: '/usr/bin:/bin',
          HOME: dir,
          JUPYTER_CONFIG_DIR: join(dir, 'config'),
          JUPYTER_DATA_DIR: join(dir, 'data'),
          JUPYTER_RUNTIME_DIR: join(dir, 'runtime'),
          JUPYTER_PATH: ''
        },
        stdio: ['ignore', 'pipe', 'pipe']
      }
    );
    jupyter.stdout!.on('data', d => (jupyterLog += d));
    jupyter.stderr!.on('data', d => (jupyterLog += d));
    const end = Date.now() + 30_000;
    for (;;) {
      if (jupyter.exitCode !== null) throw new Error(`jupyter_server exited: ${jupyterLog}`);
      const ok = await fetch(`${jupyterUrl}api`, { headers: jauth() }).then(r => r.ok, () => false);
      if (ok) break;
      if (Date.now() > end) throw new Error(`jupyter_server did not start: ${jupyterLog}`);
      await new Promise(r => setTimeout(r, 100));
    }
  });

  afterAll(async () => {
    if (jupyter && jupyter.exitCode === null) {
      const exited = new Promise(r => jupyter.once('exit', r));
      jupyter.kill('SIGTERM');
      // jupyter_server asks for confirmation on SIGINT only; SIGTERM stops it.
      const t = setTimeout(() => jupyter.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    await gw?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('should list our kernelspecs, resources included', async () => {
    const res = await fetch(`${jupyterUrl}api/kernelspecs`, { headers: jauth() });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { default: string; kernelspecs: Record<string, { spec: { display_name: string }; resources: Record<string, string> }> };
    expect(body.default).toBe('python3');
    expect(body.kernelspecs['only-on-gateway']?.spec.display_name).toBe('Only on the gateway');
    expect(Object.keys(body.kernelspecs.python3!.resources)).toContain('logo-64x64');
  });

  it('should start a kernel through us, run code over the relayed WebSocket, and shut it down', async () => {
    const started = await fetch(`${jupyterUrl}api/kernels`, { method: 'POST', headers: jauth(), body: JSON.stringify({ name: 'python3' }) });
    expect(started.status).toBe(201);
    const { id } = (await started.json()) as { id: string };
    expect(gw.app.kernels.has(id)).toBe(true);

    const ch = await RawChannel.open(`${jupyterUrl.replace(/^http/, 'ws')}api/kernels/${id}/channels?session_id=peer&token=${jupyterToken}`);
    // jupyter_server opens its own connection to us after accepting the client's, and drops
    // what arrives before that is up: retry with a fresh message (the kernel refuses a
    // replayed signature) until a reply comes.
    const code = 'import sys\nprint(sys.version_info[0])\n6*7';
    let reply: ReturnType<typeof parseLegacy> | undefined;
    let execId = '';
    for (let attempt = 0; attempt < 10 && !reply; attempt++) {
      const exec = legacyMessage('shell', 'execute_request', { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true }, 'peer');
      execId = exec.id;
      ch.ws.send(exec.text);
      reply = await ch
        .until(rx => rx.map(parseLegacy).find(p => p.msg.msg_type === 'execute_reply' && p.msg.parent_header.msg_id === exec.id), 3_000)
        .catch(() => undefined);
    }
    expect(reply?.msg.content.status).toBe('ok');
    // iopub and shell are separate streams: the output is complete at the idle status, not at the reply.
    await ch.until(rx => rx.map(parseLegacy).some(p => p.msg.msg_type === 'status' && p.msg.content.execution_state === 'idle' && p.msg.parent_header.msg_id === execId));
    const msgs = ch.received.map(parseLegacy).map(p => p.msg).filter(m => m.parent_header.msg_id === execId);
    expect(msgs.find(m => m.msg_type === 'stream')?.content.text).toBe('3\n');
    expect(msgs.find(m => m.msg_type === 'execute_result')?.content.data['text/plain']).toBe('42');
    await ch.close();

    const del = await fetch(`${jupyterUrl}api/kernels/${id}`, { method: 'DELETE', headers: jauth() });
    expect(del.status).toBe(204);
    expect(gw.app.kernels.has(id)).toBe(false);
  });
});
