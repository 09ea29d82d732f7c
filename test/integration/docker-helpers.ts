/**
 * Helpers of the Docker-backed suites (docker-*.test.ts): a Docker client, a per-run name
 * prefix and label so every resource a test creates is found and removed (STYLE.md §25), the
 * images the suites need, and a dump of the containers when a test fails.
 */
import Docker from 'dockerode';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadCatalogue, type ImageEntry } from '../../server/src/catalogue/images';
import { DockerDriver, type DockerDriverOptions } from '../../server/src/drivers/docker/docker-driver';
import { createLogger } from '../../server/src/logger';
import { ROOT } from '../utils/gateway-process';

const execFileP = promisify(execFile);

export const docker = new Docker();
/** Label on everything the suites create. */
export const TEST_LABEL = 'nbgateway.test';
/** Prefix of this run's resources: `nbtest-img-<pid>-`. */
export const TEST_PREFIX = `nbtest-img-${process.pid}-`;
/** Test volumes: 16 MiB per GB, so the 5 GB minimum is an 80 MiB filesystem. */
export const TEST_UNIT_MIB = 16;

/** True when dockerd answers and we are root (loop-mounted volumes). */
export async function dockerUsable(): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;
  try {
    await docker.ping();
    return true;
  } catch {
    return false;
  }
}

export function catalogueImage(name: string): ImageEntry {
  const img = loadCatalogue(join(ROOT, 'images', 'catalogue.json')).find(i => i.name === name);
  if (!img) throw new Error(`${name} is not in images/catalogue.json`);
  return img;
}

/** Fails with what to run when an image the suite needs is not built. */
export async function requireImages(...names: string[]): Promise<void> {
  for (const name of names) {
    const ref = catalogueImage(name).ref;
    try {
      await docker.getImage(ref).inspect();
    } catch {
      throw new Error(`image ${ref} is not built; run "images/build ${name}" (./dev test does it)`);
    }
  }
}

/** Environment for a gateway process that runs instances on Docker with test resources. */
export function dockerGatewayEnv(volumesDir: string, prefix = TEST_PREFIX): Record<string, string> {
  return {
    NBG_RUNTIME: 'docker',
    NBG_DOCKER_PREFIX: prefix,
    NBG_DOCKER_LABELS: `${TEST_LABEL}=1`,
    NBG_VOLUMES_DIR: volumesDir,
    NBG_STORAGE_UNIT_MIB: String(TEST_UNIT_MIB),
    NBG_STOP_TIMEOUT_MS: '3000',
    NBG_POLL_INTERVAL_MS: '1000'
  };
}

/** A Docker driver with test names, labels and a temporary volumes dir. */
export async function testDockerDriver(overrides: Partial<DockerDriverOptions> = {}): Promise<{ driver: DockerDriver; volumesDir: string }> {
  const volumesDir = await mkdtemp(join(tmpdir(), 'nbtest-img-vol-'));
  const driver = new DockerDriver({
    docker,
    prefix: TEST_PREFIX,
    labels: { [TEST_LABEL]: '1' },
    volumesDir,
    storageUnitMiB: TEST_UNIT_MIB,
    pidsLimit: 1024,
    networkPool: '10.213.0.0/16',
    networkBlockBits: 26,
    blockCloudMetadata: true,
    agentDir: join(ROOT, 'kernel-gateway', 'dist'),
    nodeBinary: process.execPath,
    stopTimeoutMs: 3_000,
    log: createLogger('silent'),
    ...overrides
  });
  await driver.init();
  return { driver, volumesDir };
}

/**
 * Removes every container, network and layer image whose name starts with the prefix, and
 * the volumes under `volumesDir` (unmounting them first).
 */
export async function sweep(prefix = TEST_PREFIX, volumesDir?: string): Promise<void> {
  const containers = await docker.listContainers({ all: true, filters: { label: [`${TEST_LABEL}=1`] } });
  for (const c of containers) {
    if (c.Names.some(n => n.replace(/^\//, '').startsWith(prefix))) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
  }
  for (const n of await docker.listNetworks({ filters: { label: [`${TEST_LABEL}=1`] } })) {
    if (n.Name.startsWith(prefix)) await docker.getNetwork(n.Id).remove().catch(() => undefined);
  }
  for (const img of await docker.listImages()) {
    for (const tag of img.RepoTags ?? []) if (tag.startsWith(`${prefix}layer:`)) await docker.getImage(tag).remove({ force: true }).catch(() => undefined);
  }
  if (volumesDir) {
    const mounts = await readFile('/proc/self/mountinfo', 'utf8');
    for (const line of mounts.split('\n')) {
      const mp = line.split(' ')[4];
      if (mp?.startsWith(`${volumesDir}/`)) await execFileP('umount', ['-l', mp]).catch(() => undefined);
    }
    await rm(volumesDir, { recursive: true, force: true });
  }
}

/** `docker ps -a`, inspect state and logs of the prefix's containers, for failed tests. */
export async function dockerDump(prefix = TEST_PREFIX): Promise<string> {
  const out: string[] = [];
  const containers = await docker.listContainers({ all: true, filters: { label: [`${TEST_LABEL}=1`] } }).catch(() => []);
  for (const c of containers) {
    if (!c.Names.some(n => n.replace(/^\//, '').startsWith(prefix))) continue;
    out.push(`${c.Names.join(',')} ${c.Image} ${c.State} ${c.Status}`);
    const info = await docker.getContainer(c.Id).inspect().catch(() => null);
    if (info) out.push(`  state: ${JSON.stringify(info.State)}`);
    const { stdout } = await execFileP('docker', ['logs', '--tail', '20', c.Id]).catch(e => ({ stdout: String(e.stdout ?? '') + String(e.stderr ?? '') }));
    out.push(...stdout.split('\n').map(l => `  | ${l}`));
  }
  return out.join('\n');
}

/** The IP address of an instance's container on its owner's network. */
export async function containerIp(prefix: string, instanceId: string): Promise<string> {
  const info = await docker.getContainer(`${prefix}${instanceId}`).inspect();
  const nets = Object.values(info.NetworkSettings.Networks ?? {});
  const ip = nets[0]?.IPAddress;
  if (!ip) throw new Error(`container ${prefix}${instanceId} has no address`);
  return ip;
}

/** Output of code run in a kernel of an instance. */
export interface RunResult {
  ok: boolean;
  /** stdout/stderr streams and execute results, in order. */
  out: string;
  /** `ename: evalue` when the code raised. */
  error?: string;
}

/**
 * Runs code in a new kernel of a RUNNING instance through the gateway's proxy, with
 * JupyterLab's own client, and shuts the kernel down.
 */
export async function runCode(gatewayUrl: string, token: string, instanceId: string, code: string, kernelName = 'python3'): Promise<RunResult> {
  const { KernelManager, ServerConnection } = await import('@jupyterlab/services');
  const WebSocket = (await import('ws')).default;
  const base = `${gatewayUrl}/notebooks/${instanceId}/`;
  const serverSettings = ServerConnection.makeSettings({
    baseUrl: base, wsUrl: base.replace(/^http/, 'ws'), token, appendToken: true, WebSocket: WebSocket as unknown as typeof globalThis.WebSocket
  });
  const kernels = new KernelManager({ serverSettings });
  // @jupyterlab/services narrates every WebSocket on the console.
  const { log, debug } = console;
  console.log = console.debug = () => undefined;
  try {
    await kernels.ready;
    const kernel = await kernels.startNew({ name: kernelName });
    let out = '';
    let error: string | undefined;
    const future = kernel.requestExecute({ code });
    future.onIOPub = msg => {
      const c = msg.content as Record<string, unknown>;
      if (msg.header.msg_type === 'stream') out += String(c.text);
      if (msg.header.msg_type === 'execute_result') out += `${(c.data as Record<string, string>)['text/plain']}\n`;
      if (msg.header.msg_type === 'error') error = `${String(c.ename)}: ${String(c.evalue)}`;
    };
    const reply = await future.done;
    await kernel.shutdown();
    return { ok: reply.content.status === 'ok', out, ...(error ? { error } : {}) };
  } finally {
    kernels.dispose();
    console.log = log;
    console.debug = debug;
  }
}

/**
 * Builds a tiny pure-Python wheel offline (PyPI is unreachable): `nbg_probe` 1.0 with
 * `VALUE = 42`, zipped by Debian's Python.
 * @returns the wheel's file name and bytes.
 */
export async function buildProbeWheel(): Promise<{ name: string; bytes: Buffer }> {
  const { createHash } = await import('node:crypto');
  const { mkdir, writeFile } = await import('node:fs/promises');
  const dir = await mkdtemp(join(tmpdir(), 'nbtest-img-wheel-'));
  try {
    const files: Record<string, string> = {
      'nbg_probe/__init__.py': 'VALUE = 42\n',
      'nbg_probe-1.0.dist-info/METADATA': 'Metadata-Version: 2.1\nName: nbg-probe\nVersion: 1.0\nSummary: probe package built by the nbgateway tests\n',
      'nbg_probe-1.0.dist-info/WHEEL': 'Wheel-Version: 1.0\nGenerator: nbgateway-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n'
    };
    const record = Object.entries(files).map(([p, text]) => {
      const digest = createHash('sha256').update(text).digest('base64url');
      return `${p},sha256=${digest},${Buffer.byteLength(text)}`;
    });
    files['nbg_probe-1.0.dist-info/RECORD'] = [...record, 'nbg_probe-1.0.dist-info/RECORD,,'].join('\n') + '\n';
    for (const [p, text] of Object.entries(files)) {
      await mkdir(join(dir, p, '..'), { recursive: true });
      await writeFile(join(dir, p), text);
    }
    const name = 'nbg_probe-1.0-py3-none-any.whl';
    await execFileP('/usr/bin/python3', ['-m', 'zipfile', '-c', name, 'nbg_probe', 'nbg_probe-1.0.dist-info'], { cwd: dir });
    return { name, bytes: await readFile(join(dir, name)) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
