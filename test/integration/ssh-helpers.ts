/**
 * Helpers of the SSH suites (ssh-*.test.ts): users with key pairs made by ssh-keygen,
 * instances with their SSH login, and the real OpenSSH client (ssh, scp, sftp, rsync) run
 * with a temporary known_hosts and no agent, so nothing from the machine's own ~/.ssh leaks in.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { NotebookInstance } from '../../server/src/api/types';
import type { InstanceSshInfo } from '../../server/src/api/ssh.routes';
import { waitFor, type GatewayProcess } from '../utils/gateway-process';

const execFileP = promisify(execFile);

export interface SshUser {
  name: string;
  token: string;
  /** Private key file made by ssh-keygen. */
  identity: string;
  keyId: string;
}

export interface SshTarget {
  id: string;
  port: number;
  /** `<user>+<instance>@127.0.0.1` */
  login: string;
  info: InstanceSshInfo;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A scratch directory for keys, known_hosts and files; removed by `dispose`. */
export class SshScratch {
  private constructor(readonly dir: string) {}

  static async create(): Promise<SshScratch> {
    return new SshScratch(await mkdtemp(join(tmpdir(), 'nbtest-ssh-')));
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  /** Options every OpenSSH tool gets (`-p`/`-P` is added by the caller). */
  clientOptions(identity: string): string[] {
    return [
      '-i', identity, '-F', '/dev/null', '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', 'BatchMode=yes',
      '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${this.path('known_hosts')}`, '-o', 'LogLevel=ERROR',
      '-o', 'ConnectTimeout=20'
    ];
  }

  async dispose(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Creates a user (as admin), signs in, and registers a fresh ed25519 key made by ssh-keygen. */
export async function sshUser(gw: GatewayProcess, scratch: SshScratch, name: string): Promise<SshUser> {
  const password = `${name}-password-for-ssh-tests`;
  const created = await gw.api('/api/v1/users', { method: 'POST', token: gw.adminToken, json: { name, password, role: 'user' } });
  if (created.status !== 201) throw new Error(`create user ${name}: ${created.status} ${await created.text()}`);
  const login = await gw.api('/api/v1/auth/login', { method: 'POST', json: { username: name, password } });
  const token = ((await login.json()) as { token: string }).token;
  const identity = scratch.path(`id_${name}`);
  await execFileP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${name}@test`, '-f', identity]);
  const { readFile } = await import('node:fs/promises');
  const res = await gw.api('/api/v1/ssh/keys', { method: 'POST', token, json: { name: 'test', publicKey: await readFile(`${identity}.pub`, 'utf8') } });
  if (res.status !== 201) throw new Error(`upload key: ${res.status} ${await res.text()}`);
  return { name, token, identity, keyId: ((await res.json()) as { id: string }).id };
}

/** Creates an instance, waits for RUNNING, and returns its SSH login. */
export async function sshInstance(gw: GatewayProcess, user: Pick<SshUser, 'token'>, name: string, image = 'python3.11-cpu-debian12', extra: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<SshTarget> {
  const res = await gw.api('/api/v1/notebooks', { method: 'POST', token: user.token, json: { name, image, ...extra } });
  if (res.status !== 201) throw new Error(`create ${name}: ${res.status} ${await res.text()}`);
  const { id } = (await res.json()) as NotebookInstance;
  await waitFor(async () => {
    const s = (await (await gw.api(`/api/v1/notebooks/${id}`, { token: user.token })).json()) as NotebookInstance;
    if (s.status === 'ERROR') throw new Error(`instance ${name} failed: ${s.statusReason}`);
    return s.status === 'RUNNING';
  }, `${name} RUNNING`, timeoutMs);
  const info = (await (await gw.api(`/api/v1/notebooks/${id}/ssh`, { token: user.token })).json()) as InstanceSshInfo;
  if (!info.connect) throw new Error('the gateway runs without SSH');
  return { id, port: info.connect.port, login: `${info.connect.user}@127.0.0.1`, info };
}

/**
 * Stops an instance and waits for STOPPED: instances outlive their gateway by design, so a
 * suite stops what it started before the gateway goes.
 */
export async function stopInstance(gw: GatewayProcess, token: string, id: string): Promise<void> {
  await gw.api(`/api/v1/notebooks/${id}/stop`, { method: 'POST', token });
  await waitFor(async () => {
    const s = (await (await gw.api(`/api/v1/notebooks/${id}`, { token })).json()) as NotebookInstance;
    return s.status === 'STOPPED' || s.status === 'ERROR';
  }, 'STOPPED', 30_000);
}

/** Runs an OpenSSH tool to its end (never throws on a non-zero exit). */
export function runTool(cmd: string, args: string[], opts: { input?: string | Buffer; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', d => (stdout += d));
    child.stderr.on('data', d => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} did not finish in ${opts.timeoutMs ?? 60_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', code => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** `ssh -p PORT <options> LOGIN <args…>` */
export function ssh(scratch: SshScratch, user: Pick<SshUser, 'identity'>, target: Pick<SshTarget, 'port' | 'login'>, args: string[], opts: Parameters<typeof runTool>[2] = {}): Promise<RunResult> {
  return runTool('ssh', ['-p', String(target.port), ...scratch.clientOptions(user.identity), target.login, ...args], opts);
}

/** Starts a long-lived ssh client (forwardings, interactive use); kill it to end. */
export function sshProcess(scratch: SshScratch, user: Pick<SshUser, 'identity'>, target: Pick<SshTarget, 'port' | 'login'>, args: string[]): ChildProcess {
  return spawn('ssh', ['-p', String(target.port), ...scratch.clientOptions(user.identity), ...args, target.login], { stdio: ['pipe', 'pipe', 'pipe'] });
}

export async function sha256(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk);
  return h.digest('hex');
}

export function freePort(): Promise<number> {
  return new Promise(resolve => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Collects a child's stdout until `pattern` matches; resolves with the match. */
export function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`no ${pattern} in ${timeoutMs} ms; stdout: ${out}; stderr: ${err}`)), timeoutMs);
    child.stderr?.on('data', d => (err += d));
    const onData = (d: Buffer): void => {
      out += d;
      const m = out.match(pattern);
      if (m) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve(m);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', code => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before ${pattern}; stdout: ${out}; stderr: ${err}`));
    });
  });
}
