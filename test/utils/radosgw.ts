/**
 * A real S3 server for tests: a single-node Ceph cluster (one monitor, one in-memory OSD)
 * with the RADOS Gateway on loopback (Debian's `radosgw`, `ceph-mon`, `ceph-osd`). It checks
 * SigV4 signatures, has real multipart semantics and STS with session policies.
 *
 * #### Notes
 * - Daemons run in the foreground as our children, each with a bounded wait, and are killed
 *   by pid in `dispose()`; the data directory is a `mkdtemp` removed afterwards.
 * - Cephx is off (`auth_*_required = none`) and messengers use `crc` mode: radosgw refuses
 *   to authenticate with "none" when `secure` mode is also allowed.
 * - Bring-up takes ~12 s and ~400 MB of memory; start one per test file.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface S3User {
  uid: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface RadosGateway {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  /** `http://<alsoListenOn>:<port>` when that option was given, else null. */
  extraEndpoint: string | null;
  region: string;
  dir: string;
  /** A user with full rights over its own buckets and the right to assume roles. */
  admin: S3User;
  /** Creates another S3 user (its own keys, owns nothing). */
  createUser(uid: string): Promise<S3User>;
  /**
   * Creates an IAM role `name` that `user` may assume, whose permission policy allows every
   * S3 action; session policies narrow it per session. @returns the role's ARN.
   */
  createRole(name: string, user: S3User): Promise<string>;
  /** Runs `radosgw-admin` against this cluster. */
  radosgwAdmin(args: readonly string[]): Promise<string>;
  /** Daemon logs, for failure messages. */
  logs(): Promise<string>;
  dispose(): Promise<void>;
}

const BIN = ['ceph-mon', 'ceph-osd', 'radosgw', 'monmaptool', 'radosgw-admin', 'ceph'];

/** True when the Ceph binaries are installed (scripts/deps/test.apt). */
export async function radosgwAvailable(): Promise<boolean> {
  try {
    await Promise.all(BIN.map(b => execFileP('sh', ['-c', `command -v ${b}`])));
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts a cluster; throws with the daemon logs when it does not come up in time.
 * @param opts.alsoListenOn - a second IPv4 address radosgw listens on besides loopback (same
 *   port), e.g. the host side of a Docker bridge so containers reach it; keep it private.
 */
export async function startRadosGateway(opts: { timeoutMs?: number; alsoListenOn?: string } = {}): Promise<RadosGateway> {
  const timeoutMs = opts.timeoutMs ?? 90_000;
  const deadline = Date.now() + timeoutMs;
  const dir = await mkdtemp(join(tmpdir(), 'nbtest-s3-rgw-'));
  const children: ChildProcess[] = [];
  const conf = join(dir, 'ceph.conf');
  const monPort = await freePort();
  const rgwPort = await freePort();

  const logs = async (): Promise<string> => {
    const out: string[] = [];
    for (const name of ['mon.a', 'osd.0', 'client.rgw']) {
      const text = await readFile(join(dir, 'log', `${name}.log`), 'utf8').catch(() => '');
      out.push(`--- ${name} (last lines)\n${text.split('\n').slice(-15).join('\n')}`);
    }
    return out.join('\n');
  };

  const dispose = async (): Promise<void> => {
    const alive = children.splice(0).filter(c => c.exitCode === null && c.signalCode === null);
    await Promise.all(alive.reverse().map(c => stopChild(c)));
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await Promise.all(['mon', 'osd', 'run', 'log'].map(d => mkdir(join(dir, d), { recursive: true })));
    const fsid = randomUUID();
    await writeFile(conf, cephConf({ dir, fsid, monPort, rgwPort, alsoListenOn: opts.alsoListenOn }));
    const ceph = async (bin: string, args: string[], ms = 30_000): Promise<string> => {
      const { stdout } = await execFileP(bin, ['-c', conf, ...args], { timeout: Math.max(1_000, Math.min(ms, deadline - Date.now())) });
      return stdout;
    };
    await execFileP('monmaptool', ['--create', '--addv', 'a', `[v2:127.0.0.1:${monPort}]`, '--fsid', fsid, join(dir, 'monmap')]);
    await ceph('ceph-mon', ['--mkfs', '-i', 'a', '--monmap', join(dir, 'monmap')]);
    children.push(daemon('ceph-mon', ['-c', conf, '-f', '-i', 'a']));
    await ceph('ceph', ['--connect-timeout', '20', 'osd', 'create']);
    await ceph('ceph-osd', ['-i', '0', '--mkfs']);
    children.push(daemon('ceph-osd', ['-c', conf, '-f', '-i', '0']));
    children.push(daemon('radosgw', ['-c', conf, '-f', '-n', 'client.rgw']));
    const endpoint = `http://127.0.0.1:${rgwPort}`;
    for (;;) {
      for (const c of children) {
        if (c.exitCode !== null) throw new Error(`${c.spawnfile} exited with ${c.exitCode}`);
      }
      const ok = await fetch(endpoint, { signal: AbortSignal.timeout(2_000) }).then(r => r.status < 500, () => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`radosgw did not answer within ${timeoutMs} ms`);
      await new Promise(r => setTimeout(r, 200));
    }
    const radosgwAdmin = (args: readonly string[]): Promise<string> => ceph('radosgw-admin', [...args], 30_000);
    const createUser = async (uid: string, caps?: string): Promise<S3User> => {
      const user = { uid, accessKeyId: `NB${randomBytes(9).toString('hex').toUpperCase()}`, secretAccessKey: randomBytes(24).toString('base64url') };
      await radosgwAdmin(['user', 'create', `--uid=${uid}`, `--display-name=${uid}`, `--access-key=${user.accessKeyId}`, `--secret-key=${user.secretAccessKey}`, ...(caps ? [`--caps=${caps}`] : [])]);
      return user;
    };
    const admin = await createUser('nbtest-admin', 'roles=*');
    const extraEndpoint = opts.alsoListenOn ? `http://${opts.alsoListenOn}:${rgwPort}` : null;
    if (extraEndpoint) {
      const ok = await fetch(extraEndpoint, { signal: AbortSignal.timeout(2_000) }).then(r => r.status < 500, () => false);
      if (!ok) throw new Error(`radosgw does not answer on ${extraEndpoint}`);
    }
    return {
      endpoint,
      extraEndpoint,
      region: 'us-east-1',
      dir,
      admin,
      createUser: uid => createUser(uid),
      async createRole(name, user) {
        const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: [`arn:aws:iam:::user/${user.uid}`] }, Action: ['sts:AssumeRole'] }] };
        await radosgwAdmin(['role', 'create', `--role-name=${name}`, '--path=/', `--assume-role-policy-doc=${JSON.stringify(trust)}`]);
        const allow = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:*'], Resource: ['arn:aws:s3:::*'] }] };
        await radosgwAdmin(['role-policy', 'put', `--role-name=${name}`, '--policy-name=s3-all', `--policy-doc=${JSON.stringify(allow)}`]);
        return `arn:aws:iam:::role/${name}`;
      },
      radosgwAdmin,
      logs,
      dispose
    };
  } catch (err) {
    const text = await logs();
    await dispose();
    throw new Error(`${(err as Error).message}\n${text}`);
  }
}

function cephConf(o: { dir: string; fsid: string; monPort: number; rgwPort: number; alsoListenOn?: string | undefined }): string {
  // beast takes `endpoint=` more than once.
  const endpoints = ['127.0.0.1', ...(o.alsoListenOn ? [o.alsoListenOn] : [])].map(a => `endpoint=${a}:${o.rgwPort}`).join(' ');
  return `[global]
fsid = ${o.fsid}
mon host = v2:127.0.0.1:${o.monPort}
auth cluster required = none
auth service required = none
auth client required = none
ms client mode = crc
ms mon client mode = crc
ms cluster mode = crc
ms service mode = crc
ms mon service mode = crc
ms mon cluster mode = crc
ms bind ipv6 = false
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon allow pool size one = true
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0
osd objectstore = memstore
memstore device bytes = 3221225472
osd max object name len = 256
osd max object namespace len = 64
osd data = ${o.dir}/osd
mon data = ${o.dir}/mon/$id
run dir = ${o.dir}/run
admin socket = ${o.dir}/run/$name.asok
log file = ${o.dir}/log/$name.log
pid file = ${o.dir}/run/$name.pid
keyring = /dev/null
[client.rgw]
rgw frontends = beast ${endpoints}
rgw s3 auth use sts = true
rgw sts key = ${randomBytes(8).toString('hex')}
rgw enable usage log = false
rgw thread pool size = 128
`;
}

function daemon(bin: string, args: string[]): ChildProcess {
  const child = spawn(bin, args, { stdio: 'ignore' });
  child.on('error', () => undefined);
  return child;
}

async function stopChild(c: ChildProcess): Promise<void> {
  const exited = new Promise<void>(r => c.once('exit', () => r()));
  c.kill('SIGTERM');
  const timer = setTimeout(() => c.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
