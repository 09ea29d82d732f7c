/**
 * SSH into a Docker instance (issue 6 on the runtime tenants use): channels run as ma-user in
 * ~/work inside the container, files go through sftp-server from the image, and `ssh -L`
 * reaches a port inside the container's own network namespace.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { startGatewayProcess, waitFor, type GatewayProcess } from '../utils/gateway-process';
import { dockerDump, dockerGatewayEnv, dockerUsable, requireImages, sweep } from './docker-helpers';
import { freePort, runTool, sha256, ssh, sshInstance, sshProcess, sshUser, SshScratch, stopInstance, waitForOutput, type SshTarget, type SshUser } from './ssh-helpers';

const usable = await dockerUsable();
const IMAGE = 'python3.11-cpu-debian12';
/** This suite's Docker resources: `nbtest-ssh-<pid>-…`. */
const PREFIX = `nbtest-ssh-${process.pid}-`;

describe.skipIf(!usable)('SSH into a Docker instance', () => {
  let gw: GatewayProcess;
  let volumesDir: string;
  let scratch: SshScratch;
  let alice: SshUser;
  let target: SshTarget;

  beforeAll(async () => {
    await requireImages(IMAGE);
    volumesDir = await mkdtemp(join(tmpdir(), 'nbtest-ssh-vol-'));
    gw = await startGatewayProcess(dockerGatewayEnv(volumesDir, PREFIX));
    scratch = await SshScratch.create();
    alice = await sshUser(gw, scratch, 'alice');
    target = await sshInstance(gw, alice, 'box', IMAGE, {}, 180_000);
  });

  afterAll(async () => {
    if (target) await stopInstance(gw, alice.token, target.id).catch(() => undefined);
    await gw?.stop();
    await sweep(PREFIX, volumesDir);
    await scratch?.dispose();
  });

  it('should run commands as ma-user in ~/work inside the container', async () => {
    onTestFailed(async () => console.error(`${await dockerDump(PREFIX)}\n--- gateway ---\n${gw.output().slice(-3000)}`));
    const r = await ssh(scratch, alice, target, ['id -un; id -u; pwd; python3 -c "print(6*7)"; exit 4']);
    expect(r.stdout).toBe('ma-user\n1000\n/home/ma-user/work\n42\n');
    expect(r.code).toBe(4);
  });

  it('should move files with scp and sftp through the image\'s sftp-server', async () => {
    const file = scratch.path('payload.bin');
    await writeFile(file, randomBytes(20 << 20));
    const opts = ['-P', String(target.port), ...scratch.clientOptions(alice.identity)];
    expect((await runTool('scp', ['-q', ...opts, file, `${target.login}:payload.bin`])).code).toBe(0);
    const remote = await ssh(scratch, alice, target, ['sha256sum payload.bin; stat -c %U payload.bin']);
    const [sum, owner] = remote.stdout.trim().split('\n');
    expect(sum!.split(' ')[0]).toBe(await sha256(file));
    expect(owner).toBe('ma-user');
    const batch = scratch.path('batch');
    await writeFile(batch, `get payload.bin ${scratch.path('back.bin')}\nrm payload.bin\n`);
    const r = await runTool('sftp', [...opts, '-b', batch, target.login]);
    expect(r.code, r.stderr).toBe(0);
    expect(await sha256(scratch.path('back.bin'))).toBe(await sha256(file));
  });

  it('should forward a local port to a server inside the container', async () => {
    const server = sshProcess(scratch, alice, target, []);
    server.stdin!.end('echo inside-the-container > page.html; exec python3 -u -m http.server 0 --bind 127.0.0.1\n');
    const port = Number((await waitForOutput(server, /Serving HTTP on \S+ port (\d+)/))[1]);
    const local = await freePort();
    const fwd = sshProcess(scratch, alice, target, ['-N', '-L', `127.0.0.1:${local}:localhost:${port}`]);
    try {
      const body = await waitFor(async () => {
        try {
          const res = await fetch(`http://127.0.0.1:${local}/page.html`);
          return res.ok ? await res.text() : undefined;
        } catch {
          return undefined;
        }
      }, 'the forwarded server', 20_000, 100);
      expect(body).toBe('inside-the-container\n');
    } finally {
      fwd.kill();
      server.kill();
    }
  });
});
