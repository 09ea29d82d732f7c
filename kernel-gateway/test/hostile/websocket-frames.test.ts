/**
 * WebSocket frames that break the protocol or the size limit, sent to the built agent as
 * drivers run it (issue 11): the connection must be closed with a logged reason and the agent
 * (with every kernel of the instance) must live on. Run against the process, not in-process,
 * because the failure mode is the process dying.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import WebSocket from 'ws';

const run = promisify(execFile);
const repo = join(__dirname, '..', '..', '..');
const main = join(repo, 'kernel-gateway', 'dist', 'main.cjs');
const LIMIT = 64 << 10;
const TOKEN = 'frames-test-token';

interface Agent {
  url: string;
  child: ChildProcess;
  log: () => string;
  dir: string;
}

async function startAgent(): Promise<Agent> {
  const dir = await mkdtemp(join(tmpdir(), 'nbkg-frames-'));
  const portFile = join(dir, 'port');
  let log = '';
  const child = spawn(process.execPath, [main, '--host', '127.0.0.1', '--port', '0', '--port-file', portFile, '--root-dir', dir, '--runtime-dir', join(dir, 'rt')], {
    env: { ...process.env, NBG_KG_TOKEN: TOKEN, NBG_KG_MAX_WEBSOCKET_MESSAGE_BYTES: String(LIMIT) },
    stdio: ['ignore', 'pipe', 'pipe']
  });
  child.stdout!.on('data', d => (log += d));
  child.stderr!.on('data', d => (log += d));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const port = Number((await readFile(portFile, 'utf8').catch(() => '')).trim());
    if (port > 0) return { url: `http://127.0.0.1:${port}/`, child, log: () => log, dir };
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`agent did not start:\n${log}`);
    await new Promise(r => setTimeout(r, 50));
  }
}

/** A masked client frame with the given first byte's low bits (RSV + opcode), FIN set. */
function maskedFrame(low: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  return Buffer.concat([Buffer.from([0x80 | low, 0x80 | payload.length]), mask, Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!))]);
}

const rawSocket = (ws: WebSocket): Socket => (ws as unknown as { _socket: Socket })._socket;

describe('hostile input: broken WebSocket frames (built agent)', () => {
  let agent: Agent;
  let kernelId: string;
  const auth = { Authorization: `token ${TOKEN}` };

  beforeAll(async () => {
    await run(process.execPath, [join(repo, 'scripts', 'build.mjs'), 'kernel-gateway'], { cwd: repo });
  }, 120_000);

  afterAll(async () => {
    if (agent?.child.exitCode === null) agent.child.kill('SIGTERM');
    if (agent) await rm(agent.dir, { recursive: true, force: true });
  });

  const cases: [string, (ws: WebSocket) => void][] = [
    ['a message over the size limit', ws => ws.send(Buffer.alloc(LIMIT + 1, 'a'))],
    ['a text frame that is not UTF-8', ws => ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false })],
    ['a frame with reserved bits set', ws => rawSocket(ws).write(maskedFrame(0x1 | 0x40, Buffer.from('{}')))],
    ['a frame with an unknown opcode', ws => rawSocket(ws).write(maskedFrame(0x3, Buffer.from('x')))],
    ['an unmasked client frame', ws => rawSocket(ws).write(Buffer.from([0x81, 0x02, 0x7b, 0x7d]))]
  ];

  // Was a bug (issue 11): no WebSocket the agent accepted had an 'error' listener, so `ws`
  // re-emitted the protocol error as an uncaught exception and the agent exited with every
  // kernel of the instance. WsRouter's accept() now listens and logs the reason.
  for (const [what, send] of cases) {
    it(`should close the connection on ${what} and keep the agent and its kernels alive`, async () => {
      if (!agent || agent.child.exitCode !== null || agent.child.signalCode !== null) {
        agent = await startAgent();
        const res = await fetch(`${agent.url}api/kernels`, { method: 'POST', headers: auth, body: '{"name":"python3"}' });
        kernelId = ((await res.json()) as { id: string }).id;
      }
      const ws = new WebSocket(`${agent.url.replace(/^http/, 'ws')}api/kernels/${kernelId}/channels?token=${TOKEN}`);
      ws.on('error', () => undefined);
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      const closed = new Promise<number>(resolve => ws.once('close', code => resolve(code)));
      send(ws);
      expect(await Promise.race([closed, new Promise<number>(r => setTimeout(() => r(-1), 10_000))])).not.toBe(-1);
      await new Promise(r => setTimeout(r, 300));
      expect(agent.child.exitCode, `the agent exited:\n${agent.log().slice(-2_000)}`).toBeNull();
      expect(agent.child.signalCode).toBeNull();
      const kernel = await fetch(`${agent.url}api/kernels/${kernelId}`, { headers: auth });
      expect(kernel.status).toBe(200);
    }, 60_000);
  }
});
