/**
 * The agent's SSH channel endpoints (`api/nbg/ssh/*`), driven over real WebSockets the way
 * the gateway's SSH server drives them.
 */
import { createServer, type Server } from 'node:net';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startGateway, type TestGateway } from '../utils/gateway';
import { STREAM_STDERR, STREAM_STDOUT, type SessionStart } from '../../../server/src/ssh/agent-protocol';
import { isLoopbackDestination } from '../../src/platform/ssh/tcp-channel';
import { parseStart } from '../../src/platform/ssh/validate';

interface SessionResult {
  stdout: Buffer;
  stderr: Buffer;
  events: Record<string, unknown>[];
  closeCode: number;
}

const BASE: Omit<SessionStart, 'kind'> = {
  t: 'start', env: {}, client: { ip: '203.0.113.9', port: 50000 }, server: { ip: '127.0.0.1', port: 2222 }
};

describe('SSH channel endpoints', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startGateway();
  });

  afterAll(async () => {
    await gw?.dispose();
  });

  const open = (path: string): Promise<WebSocket> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(`${gw.url.replace(/^http/, 'ws')}${path}`, { headers: { Authorization: `token ${gw.token}` } });
      ws.once('open', () => resolve(ws));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });

  /** Runs a session to its end, writing `input` (then EOF) once it started. */
  const session = async (start: Partial<SessionStart> & Pick<SessionStart, 'kind'>, input?: Buffer | string): Promise<SessionResult> => {
    const ws = await open('api/nbg/ssh/session');
    const out: SessionResult = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), events: [], closeCode: 0 };
    ws.on('message', (data: Buffer, isBinary) => {
      if (!isBinary) {
        const ev = JSON.parse(data.toString()) as Record<string, unknown>;
        out.events.push(ev);
        if (ev.t === 'started' && input !== undefined) {
          ws.send(Buffer.from(input));
          ws.send(JSON.stringify({ t: 'eof' }));
        }
        return;
      }
      if (data[0] === STREAM_STDOUT) out.stdout = Buffer.concat([out.stdout, data.subarray(1)]);
      else if (data[0] === STREAM_STDERR) out.stderr = Buffer.concat([out.stderr, data.subarray(1)]);
      else throw new Error(`bad tag ${data[0]}`);
    });
    ws.send(JSON.stringify({ ...BASE, ...start }));
    out.closeCode = await new Promise<number>(resolve => ws.once('close', code => resolve(code)));
    return out;
  };

  it('should run a command in the root dir and report its exit status after its output', async () => {
    const r = await session({ kind: 'exec', command: 'pwd; echo oops >&2; exit 3' });
    expect(r.stdout.toString().trim()).toBe(gw.rootDir);
    expect(r.stderr.toString()).toBe('oops\n');
    expect(r.events.map(e => e.t)).toEqual(['started', 'exit']);
    expect(r.events[1]).toEqual({ t: 'exit', code: 3 });
    expect(r.closeCode).toBe(1000);
  });

  it('should pass stdin through with backpressure, end it on eof, and carry binary bytes unchanged', async () => {
    const bytes = Buffer.from(Array.from({ length: 2 << 20 }, (_, i) => (i * 7) & 0xff));
    const r = await session({ kind: 'exec', command: 'cat' }, bytes);
    expect(r.stdout.equals(bytes)).toBe(true);
    expect(r.events.at(-1)).toEqual({ t: 'exit', code: 0 });
  });

  it('should set the login variables and the client\'s accepted variables, never NBG_*', async () => {
    const r = await session({
      kind: 'exec',
      command: 'echo "$SSH_CONNECTION|$SSH_CLIENT|$LC_NBTEST|${NBG_KG_TOKEN-unset}|${NBG_X-unset}|$USER"',
      env: { LC_NBTEST: 'hello world', NBG_X: 'nope' }
    });
    const [conn, client, lc, token, nbgx, user] = r.stdout.toString().trim().split('|');
    expect(conn).toBe('203.0.113.9 50000 127.0.0.1 2222');
    expect(client).toBe('203.0.113.9 50000 2222');
    expect(lc).toBe('hello world');
    expect(token).toBe('unset');
    expect(nbgx).toBe('unset');
    expect(user).toBeTruthy();
  });

  it('should report death by signal as an exit signal', async () => {
    const r = await session({ kind: 'exec', command: 'kill -TERM $$' });
    expect(r.events.at(-1)).toEqual({ t: 'exit', signal: 'TERM', core: false });
  });

  it('should deliver a signal request to the command', async () => {
    const ws = await open('api/nbg/ssh/session');
    const events: Record<string, unknown>[] = [];
    let stdout = '';
    ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) {
        stdout += data.subarray(1).toString();
        if (stdout.includes('ready')) ws.send(JSON.stringify({ t: 'signal', signal: 'USR1' }));
        return;
      }
      events.push(JSON.parse(data.toString()) as Record<string, unknown>);
    });
    ws.send(JSON.stringify({ ...BASE, kind: 'exec', command: 'trap "echo got-usr1; exit 7" USR1; echo ready; while :; do sleep 0.05; done' }));
    await new Promise(r => ws.once('close', r));
    expect(stdout).toContain('got-usr1');
    expect(events.at(-1)).toEqual({ t: 'exit', code: 7 });
  });

  it('should give a pty its size and terminal, and follow resizes', async () => {
    const ws = await open('api/nbg/ssh/session');
    let out = '';
    let resized = false;
    ws.on('message', (data: Buffer, isBinary) => {
      if (!isBinary) return;
      out += data.subarray(1).toString();
      if (!resized && out.includes('first:')) {
        resized = true;
        ws.send(JSON.stringify({ t: 'resize', cols: 132, rows: 50, width: 0, height: 0 }));
        ws.send(Buffer.from('go\n'));
      }
    });
    ws.send(JSON.stringify({
      ...BASE, kind: 'exec', pty: { term: 'xterm-256color', cols: 100, rows: 30, width: 0, height: 0 },
      command: 'echo "first:$(stty size):$TERM"; read x; echo "second:$(stty size)"'
    }));
    await new Promise(r => ws.once('close', r));
    expect(out).toContain('first:30 100:xterm-256color');
    expect(out).toContain('second:50 132');
  });

  it.runIf(existsSync('/usr/lib/openssh/sftp-server'))('should serve the sftp subsystem from sftp-server', async () => {
    // SSH_FXP_INIT (version 3) → SSH_FXP_VERSION
    const init = Buffer.from([0, 0, 0, 5, 1, 0, 0, 0, 3]);
    const ws = await open('api/nbg/ssh/session');
    const reply = await new Promise<Buffer>((resolve, reject) => {
      ws.on('message', (data: Buffer, isBinary) => {
        if (isBinary) resolve(data.subarray(1));
        else if ((JSON.parse(data.toString()) as { t: string }).t === 'started') ws.send(init);
        else if ((JSON.parse(data.toString()) as { t: string }).t === 'error') reject(new Error(data.toString()));
      });
      ws.send(JSON.stringify({ ...BASE, kind: 'subsystem', subsystem: 'sftp' }));
    });
    expect(reply[4]).toBe(2); // SSH_FXP_VERSION
    ws.close();
  });

  it('should refuse an unknown subsystem with a reason', async () => {
    const r = await session({ kind: 'subsystem', subsystem: 'netconf' });
    expect(r.events).toEqual([{ t: 'error', message: 'unknown subsystem "netconf"; only sftp is served' }]);
    expect(r.closeCode).toBe(1011);
  });

  it('should hang up the command when the socket closes', async () => {
    const marker = join(gw.rootDir, 'hup-marker');
    const ws = await open('api/nbg/ssh/session');
    await new Promise<void>(resolve => {
      ws.on('message', (data: Buffer, isBinary) => {
        if (isBinary && data.subarray(1).toString().includes('ready')) resolve();
      });
      ws.send(JSON.stringify({ ...BASE, kind: 'exec', command: `trap "echo hup > ${marker}; exit 0" HUP; echo ready; while :; do sleep 0.05; done` }));
    });
    ws.close();
    await expect.poll(async () => (await readFile(marker, 'utf8').catch(() => '')).trim(), { timeout: 5_000 }).toBe('hup');
  });

  it('should count a running command as busy and as a connection', async () => {
    const ws = await open('api/nbg/ssh/session');
    await new Promise<void>(resolve => {
      ws.on('message', (data: Buffer, isBinary) => {
        if (isBinary && data.subarray(1).toString().includes('ready')) resolve();
      });
      ws.send(JSON.stringify({ ...BASE, kind: 'exec', command: 'echo ready; sleep 30' }));
    });
    expect(gw.app.activity.busy()).toBe(true);
    expect(gw.app.activity.connections()).toBeGreaterThanOrEqual(1);
    ws.close();
    await expect.poll(() => gw.app.activity.busy(), { timeout: 5_000 }).toBe(false);
  });

  it('should refuse a malformed start message', async () => {
    const ws = await open('api/nbg/ssh/session');
    const msg = await new Promise<string>(resolve => {
      ws.once('message', d => resolve(d.toString()));
      ws.send(JSON.stringify({ t: 'start', kind: 'exec' }));
    });
    expect(JSON.parse(msg)).toMatchObject({ t: 'error' });
    expect(JSON.parse(msg).message).toMatch(/client must be an object/);
  });

  describe('tcp', () => {
    let server: Server;
    let port: number;

    beforeAll(async () => {
      server = createServer(sock => {
        let got = '';
        sock.on('data', d => (got += d));
        // Answers after the client's EOF, like a request/response protocol that ends with a half-close.
        sock.on('end', () => sock.end(`echo:${got}`));
      });
      await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
      port = (server.address() as { port: number }).port;
    });

    afterAll(async () => {
      await new Promise(r => server.close(r));
    });

    it('should splice to a port inside the instance, half-close included', async () => {
      const ws = await open(`api/nbg/ssh/tcp?host=localhost&port=${port}`);
      const text = await new Promise<string>(resolve => {
        let data = '';
        ws.on('message', (d: Buffer, isBinary) => {
          if (isBinary) data += d.toString();
          else if ((JSON.parse(d.toString()) as { t: string }).t === 'connected') {
            ws.send(Buffer.from('ping'));
            ws.send(JSON.stringify({ t: 'eof' }));
          }
        });
        ws.once('close', () => resolve(data));
      });
      expect(text).toBe('echo:ping');
    });

    it('should say when nothing listens on the port', async () => {
      const free = createServer();
      await new Promise<void>(r => free.listen(0, '127.0.0.1', r));
      const unused = (free.address() as { port: number }).port;
      await new Promise(r => free.close(r));
      const ws = await open(`api/nbg/ssh/tcp?host=127.0.0.1&port=${unused}`);
      const msg = await new Promise<string>(resolve => ws.once('message', d => resolve(d.toString())));
      expect(JSON.parse(msg)).toEqual({ t: 'error', message: `nothing listens on 127.0.0.1:${unused} inside the instance` });
    });

    it('should refuse destinations outside the instance before upgrading', async () => {
      await expect(open('api/nbg/ssh/tcp?host=10.1.2.3&port=80')).rejects.toThrow('HTTP 403');
      await expect(open('api/nbg/ssh/tcp?host=localhost&port=0')).rejects.toThrow('HTTP 400');
    });

    it('should tell loopback destinations from others', () => {
      for (const h of ['localhost', '127.0.0.1', '127.1.2.3', '::1', '[::1]', '0.0.0.0', 'LOCALHOST']) expect(isLoopbackDestination(h), h).toBe(true);
      for (const h of ['10.0.0.1', 'example.com', '169.254.169.254', '::ffff:10.0.0.1', '']) expect(isLoopbackDestination(h), h).toBe(false);
    });
  });

  it('should refuse sockets without the agent token', async () => {
    const res = await new Promise<number>(resolve => {
      const ws = new WebSocket(`${gw.url.replace(/^http/, 'ws')}api/nbg/ssh/session`);
      ws.once('unexpected-response', (_req, r) => resolve(r.statusCode ?? 0));
      ws.once('error', () => undefined);
    });
    expect(res).toBe(403);
  });

  it('should validate start messages field by field', () => {
    expect(() => parseStart({ ...BASE, kind: 'exec', command: 1 })).toThrow(/command must be a string/);
    expect(() => parseStart({ ...BASE, kind: 'shell', pty: { term: 'x y', cols: 1, rows: 1 } })).toThrow(/pty.term/);
    expect(() => parseStart({ ...BASE, kind: 'shell', env: { A: 'a\0b' } })).toThrow(/env.A/);
    expect(parseStart({ ...BASE, kind: 'shell', pty: { term: 'xterm', cols: 80, rows: 24 } }).pty).toEqual({ term: 'xterm', cols: 80, rows: 24, width: 0, height: 0 });
  });

  it('should start a login shell in the root dir', async () => {
    await writeFile(join(gw.rootDir, 'hello.txt'), 'hi\n');
    const r = await session({ kind: 'shell' }, 'cat hello.txt; exit 4\n');
    expect(r.stdout.toString()).toContain('hi');
    expect(r.events.at(-1)).toEqual({ t: 'exit', code: 4 });
  });
});
