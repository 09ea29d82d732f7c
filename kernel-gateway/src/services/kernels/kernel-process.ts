/**
 * Launching one kernel process: the connection file, its endpoints, and the OS process
 * (as jupyter_client's `KernelManager` + `launcher` do).
 *
 * #### Notes
 * - The kernel gets its own session (`detached`), so a signal interrupt reaches the kernel's
 *   process group and nothing else, as jupyter_client's `start_new_session=True`.
 * - `JPY_PARENT_PID` makes ipykernel exit by itself if we die without cleaning up.
 * - With the `ipc` transport the endpoints are Unix sockets under the runtime dir, so there
 *   is no race for free TCP ports; restarts reuse the same endpoints.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { KernelSpecEntry } from '../kernelspecs/manager';

export interface ConnectionInfo {
  transport: 'ipc' | 'tcp';
  ip: string;
  shell_port: number;
  iopub_port: number;
  stdin_port: number;
  control_port: number;
  hb_port: number;
  key: string;
  signature_scheme: 'hmac-sha256';
  kernel_name: string;
}

export type ChannelName = 'shell' | 'iopub' | 'stdin' | 'control' | 'hb';

/** The ZeroMQ endpoint of one channel. */
export function endpoint(info: ConnectionInfo, channel: ChannelName): string {
  const port = info[`${channel}_port`];
  return info.transport === 'ipc' ? `ipc://${info.ip}-${port}` : `tcp://${info.ip}:${port}`;
}

/** Creates connection info with a fresh key and endpoints. */
export async function newConnectionInfo(
  transport: 'ipc' | 'tcp',
  runtimeDir: string,
  kernelId: string,
  kernelName: string
): Promise<ConnectionInfo> {
  const key = randomBytes(32).toString('hex');
  if (transport === 'ipc') {
    // Unix socket paths are limited to 107 bytes: keep the name short.
    return {
      transport, ip: join(runtimeDir, `k-${kernelId.slice(0, 8)}`),
      shell_port: 1, iopub_port: 2, stdin_port: 3, control_port: 4, hb_port: 5,
      key, signature_scheme: 'hmac-sha256', kernel_name: kernelName
    };
  }
  const [shell, iopub, stdin, control, hb] = await freePorts(5);
  return {
    transport, ip: '127.0.0.1',
    shell_port: shell!, iopub_port: iopub!, stdin_port: stdin!, control_port: control!, hb_port: hb!,
    key, signature_scheme: 'hmac-sha256', kernel_name: kernelName
  };
}

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<import('node:net').Server>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve(s));
    }))
  );
  const ports = servers.map(s => (s.address() as import('node:net').AddressInfo).port);
  await Promise.all(servers.map(s => new Promise(r => s.close(r))));
  return ports;
}

export interface LaunchOptions {
  spec: KernelSpecEntry;
  info: ConnectionInfo;
  connectionFile: string;
  cwd: string;
  env: Record<string, string>;
}

/** The environment a kernel of `spec` is started with, given the request's extra variables. */
export function launchEnv(spec: KernelSpecEntry, extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    ...(spec.spec.env ?? {}),
    ...extra,
    JPY_PARENT_PID: String(process.pid),
    // ipykernel's debugger otherwise prints a frozen-modules warning at every start.
    PYDEVD_DISABLE_FILE_VALIDATION: '1'
  };
  // Our own secrets are not the kernel's business.
  delete env.NBG_KG_TOKEN;
  delete env.NBG_KG_TOKEN_FILE;
  return env;
}

/** Writes the connection file (0600) and spawns the kernel. */
export async function launchKernel(opts: LaunchOptions): Promise<ChildProcess> {
  await mkdir(join(opts.connectionFile, '..'), { recursive: true, mode: 0o700 });
  await writeFile(opts.connectionFile, JSON.stringify(opts.info), { mode: 0o600 });
  const argv = opts.spec.spec.argv.map(a =>
    a.replaceAll('{connection_file}', opts.connectionFile).replaceAll('{resource_dir}', opts.spec.dir)
  );
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: opts.cwd,
    env: launchEnv(opts.spec, opts.env),
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit']
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', err => reject(new Error(`cannot start kernel "${opts.spec.name}" (${argv[0]}): ${err.message}`)));
  });
  return child;
}

/** Removes the connection file and IPC sockets of a kernel. */
export async function cleanupConnection(info: ConnectionInfo, connectionFile: string): Promise<void> {
  await rm(connectionFile, { force: true });
  if (info.transport === 'ipc') {
    await Promise.all((['shell', 'iopub', 'stdin', 'control', 'hb'] as const).map(c => rm(`${info.ip}-${info[`${c}_port`]}`, { force: true })));
  }
}

/** Sends a signal to the kernel's process group, falling back to the process. */
export function signalKernel(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}
