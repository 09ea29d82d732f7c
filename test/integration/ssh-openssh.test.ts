/**
 * Remote development over SSH with the stock OpenSSH client (issue 6, SPEC §7), against an
 * instance of the built gateway on the local-process runtime: exec and exit statuses, a pty
 * session (size, resize, Ctrl-C), scp both ways, sftp batch, rsync, environment variables,
 * `ssh -L` to a web server inside the instance, and VS Code Remote-SSH's sequence.
 */
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startGatewayProcess, waitFor, type GatewayProcess } from '../utils/gateway-process';
import { processesMatching } from '../utils/processes';
import { freePort, runTool, sha256, ssh, sshInstance, sshProcess, sshUser, SshScratch, stopInstance, waitForOutput, type SshTarget, type SshUser } from './ssh-helpers';

const execFileP = promisify(execFile);

describe('SSH with OpenSSH clients', () => {
  let gw: GatewayProcess;
  let scratch: SshScratch;
  let alice: SshUser;
  let target: SshTarget;
  let workDir: string;

  beforeAll(async () => {
    gw = await startGatewayProcess();
    scratch = await SshScratch.create();
    alice = await sshUser(gw, scratch, 'alice');
    target = await sshInstance(gw, alice, 'dev');
    workDir = join(gw.dataDir, 'instances', target.id, 'work');
  });

  afterAll(async () => {
    if (target) await stopInstance(gw, alice.token, target.id);
    await gw?.stop();
    await scratch?.dispose();
  });

  const run = (args: string[], opts?: Parameters<typeof ssh>[4]): ReturnType<typeof ssh> => ssh(scratch, alice, target, args, opts);

  it('should run a command and print 42 with exit status 0, in ~/work', async () => {
    const r = await run(['python3 -c "print(6*7)"; pwd']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`42\n${workDir}\n`);
  });

  it('should return a failing command\'s exit status and its stderr', async () => {
    const r = await run(['echo to-stderr >&2; exit 3']);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe('to-stderr\n');
    expect((await run(['definitely-not-a-command-nbg'])).code).toBe(127);
  });

  it('should pass stdin through and end it', async () => {
    const input = Buffer.from(Array.from({ length: 3 << 20 }, (_, i) => (i * 31) & 0xff));
    const r = await run(['sha256sum'], { input });
    const { createHash } = await import('node:crypto');
    expect(r.stdout.split(' ')[0]).toBe(createHash('sha256').update(input).digest('hex'));
  });

  it('should pass SendEnv/SetEnv variables', async () => {
    const r = await runTool('ssh', ['-p', String(target.port), ...scratch.clientOptions(alice.identity), '-o', 'SendEnv=LC_NBTEST', '-o', 'SetEnv=NBTEST_SET=set-value', target.login, 'echo "$LC_NBTEST|$NBTEST_SET"'], {
      env: { ...process.env, LC_NBTEST: 'sent value' }
    });
    expect(r.stdout).toBe('sent value|set-value\n');
  });

  it('should give `ssh -tt` a pty with the client\'s size, follow resizes, and interrupt with Ctrl-C', async () => {
    const pty = await import('node-pty');
    const term = pty.spawn('ssh', ['-tt', '-p', String(target.port), ...scratch.clientOptions(alice.identity), target.login], {
      name: 'xterm-256color', cols: 100, rows: 30, cwd: scratch.dir, env: { ...process.env, TERM: 'xterm-256color' } as Record<string, string>
    });
    let out = '';
    term.onData(d => (out += d));
    const exited = new Promise<number>(resolve => term.onExit(e => resolve(e.exitCode)));
    const expectOut = (re: RegExp): Promise<RegExpMatchArray> => waitFor(async () => out.match(re), `${re} in the terminal`, 15_000, 20);
    term.write('echo "A:$(stty size):$TERM:$(tty)"\r');
    const a = await expectOut(/A:(\d+ \d+):([\w-]+):(\/dev\/pts\/\d+)/);
    expect(a[1]).toBe('30 100');
    expect(a[2]).toBe('xterm-256color');
    term.resize(120, 40);
    await new Promise(r => setTimeout(r, 300));
    term.write('echo "B:$(stty size)"\r');
    expect((await expectOut(/B:(\d+ \d+)/))[1]).toBe('40 120');
    term.write('sleep 30; echo NOT-INTERRUPTED\r');
    await new Promise(r => setTimeout(r, 500));
    const before = Date.now();
    term.write('\x03');
    term.write('echo "C:$?"\r');
    expect((await expectOut(/C:(\d+)/))[1]).toBe('130');
    expect(Date.now() - before).toBeLessThan(5_000);
    // The typed line echoes the word; only an output line of its own would mean it ran.
    expect(out).not.toMatch(/(^|\n)NOT-INTERRUPTED\r?\n/);
    term.write('exit 5\r');
    expect(await exited).toBe(5);
  });

  it('should scp a 100 MB file up and down with matching checksums (SFTP and legacy protocols)', async () => {
    const file = scratch.path('big.bin');
    await execFileP('head', ['-c', String(100 << 20), '/dev/urandom'], { encoding: 'buffer', maxBuffer: 200 << 20 }).then(r => writeFile(file, r.stdout));
    const want = await sha256(file);
    const scp = (args: string[]): Promise<{ code: number | null; stderr: string }> => runTool('scp', ['-q', '-P', String(target.port), ...scratch.clientOptions(alice.identity), ...args], { timeoutMs: 120_000 });
    expect((await scp([file, `${target.login}:big.bin`])).code).toBe(0);
    expect(await sha256(join(workDir, 'big.bin'))).toBe(want);
    expect((await scp([`${target.login}:big.bin`, scratch.path('back.bin')])).code).toBe(0);
    expect(await sha256(scratch.path('back.bin'))).toBe(want);
    // scp -O: the old protocol, `scp -t` run as a command in the instance.
    expect((await scp(['-O', file, `${target.login}:legacy.bin`])).code).toBe(0);
    expect((await stat(join(workDir, 'legacy.bin'))).size).toBe(100 << 20);
  });

  it('should run an sftp batch: mkdir, put, ls, rename, rm', async () => {
    await writeFile(scratch.path('hello.txt'), 'hello over sftp\n');
    const batch = scratch.path('batch');
    await writeFile(batch, ['mkdir sdir', `put ${scratch.path('hello.txt')} sdir/hello.txt`, 'ls -l sdir', 'rename sdir/hello.txt sdir/renamed.txt', 'ls sdir', 'get sdir/renamed.txt ' + scratch.path('got.txt'), 'rm sdir/renamed.txt', 'rmdir sdir'].join('\n') + '\n');
    const r = await runTool('sftp', ['-P', String(target.port), ...scratch.clientOptions(alice.identity), '-b', batch, target.login]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/sftp> ls -l sdir\n.*hello\.txt/);
    expect(r.stdout).toContain('sdir/renamed.txt');
    expect(await readFile(scratch.path('got.txt'), 'utf8')).toBe('hello over sftp\n');
    await expect(stat(join(workDir, 'sdir'))).rejects.toThrow();
  });

  it('should rsync a tree over ssh, then send only what changed', async () => {
    const tree = scratch.path('tree');
    await mkdir(join(tree, 'a', 'b'), { recursive: true });
    await writeFile(join(tree, 'a', 'one.txt'), 'one\n');
    await writeFile(join(tree, 'a', 'b', 'two.txt'), 'two\n');
    await writeFile(join(tree, 'top.py'), 'print("top")\n');
    const rsync = (): Promise<{ code: number | null; stdout: string; stderr: string }> =>
      runTool('rsync', ['-a', '--itemize-changes', '-e', ['ssh', '-p', String(target.port), ...scratch.clientOptions(alice.identity)].join(' '), `${tree}/`, `${target.login}:tree/`]);
    const first = await rsync();
    expect(first.code, first.stderr).toBe(0);
    expect(await readFile(join(workDir, 'tree', 'a', 'b', 'two.txt'), 'utf8')).toBe('two\n');
    await writeFile(join(tree, 'a', 'one.txt'), 'one, changed\n');
    const second = await rsync();
    expect(second.stdout.trim().split('\n').filter(l => l.startsWith('<f'))).toEqual([expect.stringContaining('a/one.txt')]);
    expect(await readFile(join(workDir, 'tree', 'a', 'one.txt'), 'utf8')).toBe('one, changed\n');
  });

  it('should forward a local port to a web server inside the instance (ssh -L), and hang it up with the session', async () => {
    const marker = `nbg-web-${process.pid}`;
    const server = sshProcess(scratch, alice, target, []);
    server.stdin!.end(`echo ${marker} > web.html; exec python3 -u -m http.server 0 --bind 127.0.0.1 # ${marker}\n`);
    // The command is bash reading stdin (no command given), so the server's port comes on stdout.
    const port = Number((await waitForOutput(server, /Serving HTTP on \S+ port (\d+)/))[1]);
    const local = await freePort();
    const fwd = sshProcess(scratch, alice, target, ['-N', '-L', `127.0.0.1:${local}:127.0.0.1:${port}`]);
    try {
      const body = await waitFor(async () => {
        try {
          const res = await fetch(`http://127.0.0.1:${local}/web.html`);
          return res.ok ? await res.text() : undefined;
        } catch {
          return undefined;
        }
      }, 'the forwarded web server', 20_000, 100);
      expect(body).toBe(`${marker}\n`);
    } finally {
      fwd.kill();
      server.kill();
    }
    // Closing the session hangs up its process group: nothing is left running.
    await waitFor(async () => (await processesMatching(marker)).length === 0, 'the web server to exit', 10_000);
  });

  it('should connect through the ~/.ssh/config entry and known_hosts line that `nbg ssh-config` writes', async () => {
    const env = { ...process.env, HOME: scratch.dir, XDG_CONFIG_HOME: scratch.path('xdg'), NBG_URL: gw.url, NBG_TOKEN: alice.token };
    const cli = await runTool(process.execPath, [join(ROOT, 'server/dist/nbg.cjs'), 'ssh-config', '--identity-file', alice.identity], { env });
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain('nbg-dev');
    const config = scratch.path('.ssh/config');
    expect(await readFile(config, 'utf8')).toContain('User alice+dev');
    // Strict host key checking with only the written known_hosts: the host key line must be right.
    const r = await runTool('ssh', ['-F', config, '-o', 'BatchMode=yes', '-o', 'IdentityAgent=none', '-o', 'StrictHostKeyChecking=yes', 'nbg-dev', 'echo via-config'], { env });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('via-config\n');
  });

  it('should follow VS Code Remote-SSH: a bash script over `ssh -T -D`, then a SOCKS connection to the port it opened', async () => {
    const socks = await freePort();
    const client = sshProcess(scratch, alice, target, ['-T', '-D', `127.0.0.1:${socks}`, '-o', 'ConnectTimeout=15']);
    client.stdin!.write([
      'set -e',
      'echo "a1b2c3: start"',
      'cat > vscode-stub.py <<\'PY\'',
      'import http.server, socketserver',
      'class H(http.server.BaseHTTPRequestHandler):',
      '    def do_GET(self):',
      '        self.send_response(200); self.end_headers(); self.wfile.write(b"vscode-server-ok")',
      '    def log_message(self, *a): pass',
      's = socketserver.TCPServer(("127.0.0.1", 0), H)',
      'print(s.server_address[1], flush=True)',
      's.serve_forever()',
      'PY',
      // Like VS Code's server: detached from the session's output, so the session can end.
      'nohup python3 vscode-stub.py > vscode-stub.port 2> vscode-stub.log < /dev/null &',
      'echo $! > vscode-stub.pid',
      'for i in $(seq 1 100); do [ -s vscode-stub.port ] && break; sleep 0.1; done',
      'echo "listeningOn==$(cat vscode-stub.port)=="',
      'echo "a1b2c3: end"',
      // VS Code keeps the connection; the script waits for stdin to close.
      'cat > /dev/null',
      ''
    ].join('\n'));
    try {
      const remotePort = Number((await waitForOutput(client, /listeningOn==(\d+)==/))[1]);
      const body = await socks5Get(socks, remotePort);
      expect(body).toContain('vscode-server-ok');
    } finally {
      client.stdin!.end();
      await new Promise(r => client.once('exit', r));
      await run(['kill $(cat vscode-stub.pid)']);
    }
  });
});

/** HTTP GET through a SOCKS5 proxy (`ssh -D`) to 127.0.0.1:port, as VS Code does. */
function socks5Get(proxyPort: number, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(proxyPort, '127.0.0.1');
    let stage = 0;
    let body = '';
    s.on('error', reject);
    s.on('connect', () => s.write(Buffer.from([5, 1, 0])));
    s.on('data', d => {
      if (stage === 0) {
        if (d[0] !== 5 || d[1] !== 0) return reject(new Error('SOCKS greeting refused'));
        stage = 1;
        s.write(Buffer.from([5, 1, 0, 1, 127, 0, 0, 1, port >> 8, port & 255]));
      } else if (stage === 1) {
        if (d[1] !== 0) return reject(new Error(`SOCKS connect refused (${d[1]})`));
        stage = 2;
        s.write('GET / HTTP/1.0\r\nHost: localhost\r\n\r\n');
      } else {
        body += d;
      }
    });
    s.on('end', () => resolve(body));
  });
}
