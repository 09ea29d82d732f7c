/**
 * The local-process runtime (embedded default when there is no Docker): each instance is one
 * kernel-gateway process on this host, with its own work directory and a port on loopback.
 *
 * #### Notes
 * - Processes are started detached, with output to a log file, so they survive a gateway
 *   restart and are adopted from their recorded pid + start time.
 * - There is no isolation between instances beyond Unix permissions, and flavor limits are
 *   not enforced: this runtime is for one person's laptop or CI. Use Docker for tenants.
 * - Kernels exit with their agent (`JPY_PARENT_PID`), so stopping the agent stops them.
 * - An agent launched by a gateway that died before recording it is found by its port-file
 *   argument (unique per instance) and stopped (`abandon`, and before any new start)
 *   instead of running on as an orphan: a pid file could not close the window between
 *   spawning and writing it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../logger';
import type { Flavor } from '../../catalogue/flavors';
import type { ImageEntry } from '../../catalogue/images';
import {
  SpawnError, type DriverState, type Endpoint, type IRuntimeDriver, type InstanceSpec, type RuntimeStatus, type StartOptions, type StartResult
} from '../driver';
import { isAlive, processesWithArg, readStat } from './process-info';
import { tailFile } from '../output-tail';

export interface LocalProcessDriverOptions {
  /** Instance directories live under `<dataDir>/instances/<id>/`. */
  dataDir: string;
  /** The built kernel gateway (contains main.cjs). */
  kernelGatewayDir: string;
  /** Grace after SIGTERM before SIGKILL. */
  stopTimeoutMs: number;
  log: Logger;
  /** The Node binary that runs the agent. */
  nodePath?: string;
}

interface LocalState extends DriverState {
  v: 1;
  kind: 'local';
  pid: number;
  startTime: string;
  port: number;
}

const POLL_MS = 20;

export class LocalProcessDriver implements IRuntimeDriver {
  readonly kind = 'local';
  private readonly _children = new Map<string, ChildProcess>();
  private readonly _listeners = new Set<(id: string) => void>();

  constructor(private readonly _o: LocalProcessDriverOptions) {}

  unsupported(image: ImageEntry, flavor: Flavor): string | null {
    if (flavor.chip !== 'cpu') return `${flavor.chip} flavors need the Docker runtime with ${flavor.chip === 'gpu' ? 'NVIDIA GPUs' : 'Ascend NPUs'}`;
    if (!image.chips.includes('cpu')) return `image "${image.name}" needs ${image.chips.join('/')} hardware`;
    return null;
  }

  /** The instance's directory, work dir and files. */
  paths(id: string): { dir: string; work: string; portFile: string; log: string } {
    const dir = join(this._o.dataDir, 'instances', id);
    return { dir, work: join(dir, 'work'), portFile: join(dir, 'agent.port'), log: join(dir, 'agent.log') };
  }

  async start(spec: InstanceSpec, previous: DriverState | null, opts: StartOptions): Promise<StartResult> {
    const log = this._o.log.child({ instance: spec.id });
    if (previous && isLocalState(previous) && (await isAlive(previous))) {
      // Adopt a process that is still running (e.g. the gateway restarted mid-start).
      return { endpoint: endpointOf(previous), state: previous };
    }
    const p = this.paths(spec.id);
    // An agent from a start that was never recorded would hold the work dir with stale kernels.
    await this.abandon(spec);
    opts.onProgress?.({ progress: 10, step: 'storage', message: 'preparing the work directory' });
    await mkdir(p.work, { recursive: true });
    await rm(p.portFile, { force: true });
    const main = join(this._o.kernelGatewayDir, 'main.cjs');
    try {
      await stat(main);
    } catch {
      throw new SpawnError(`the kernel gateway is not built (${main} is missing); run "npm run build"`, { reason: 'agent-missing' });
    }
    opts.onProgress?.({ progress: 30, step: 'agent', message: 'starting the kernel gateway' });
    const logFile = await open(p.log, 'a');
    let child: ChildProcess;
    try {
      child = spawn(
        this._o.nodePath ?? process.execPath,
        [main, '--host', '127.0.0.1', '--port', '0', '--port-file', p.portFile, '--base-url', spec.baseUrl, '--root-dir', p.work],
        {
          cwd: p.work,
          detached: true,
          stdio: ['ignore', logFile.fd, logFile.fd],
          env: { ...agentEnv(), ...spec.env, NBG_KG_TOKEN: spec.agentToken, NBG_INSTANCE_ID: spec.id }
        }
      );
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
    } finally {
      await logFile.close();
    }
    const pid = child.pid!;
    this._track(spec.id, child);
    try {
      const port = await this._waitForPort(p.portFile, child, p.log, opts.signal);
      const endpoint = { host: '127.0.0.1', port };
      await waitForAgent(endpoint, spec, opts.signal);
      const s = await readStat(pid);
      if (!s) throw new SpawnError('the kernel gateway exited right after starting', { reason: 'agent-exit' });
      opts.onProgress?.({ progress: 100, step: 'ready', message: 'ready' });
      const state: LocalState = { v: 1, kind: 'local', pid, startTime: s.startTime, port };
      log.debug({ pid, port }, 'agent ready');
      return { endpoint, state };
    } catch (err) {
      killGroup(pid, 'SIGKILL');
      throw err;
    }
  }

  async poll(state: DriverState): Promise<RuntimeStatus> {
    if (!isLocalState(state)) return { running: false, reason: 'the runtime state was not written by the local-process runtime' };
    if (await isAlive(state)) return { running: true, endpoint: endpointOf(state) };
    const child = [...this._children.values()].find(c => c.pid === state.pid);
    return { running: false, reason: 'the kernel gateway process is gone', ...(child?.exitCode != null ? { exitCode: child.exitCode } : {}) };
  }

  async stop(state: DriverState, opts: { now?: boolean } = {}): Promise<void> {
    if (!isLocalState(state) || !(await isAlive(state))) return;
    killGroup(state.pid, opts.now ? 'SIGKILL' : 'SIGTERM');
    const deadline = Date.now() + (opts.now ? 2_000 : this._o.stopTimeoutMs);
    while (Date.now() < deadline) {
      if (!(await isAlive(state))) return;
      await sleep(POLL_MS);
    }
    this._o.log.warn({ pid: state.pid }, 'agent did not stop in time; killing it');
    killGroup(state.pid, 'SIGKILL');
    for (let i = 0; i < 100 && (await isAlive(state)); i++) await sleep(POLL_MS);
  }

  async remove(state: DriverState | null, spec: Pick<InstanceSpec, 'id'>): Promise<void> {
    if (state) await this.stop(state, { now: false });
    await this.abandon(spec);
  }

  async abandon(spec: Pick<InstanceSpec, 'id'>): Promise<void> {
    for (const agent of await processesWithArg(this.paths(spec.id).portFile)) {
      this._o.log.warn({ instance: spec.id, pid: agent.pid }, 'stopping an agent left by a start that was never recorded');
      killGroup(agent.pid, 'SIGKILL');
      for (let i = 0; i < 100 && (await isAlive(agent)); i++) await sleep(POLL_MS);
    }
  }

  async purgeStorage(spec: Pick<InstanceSpec, 'id'>): Promise<void> {
    await rm(this.paths(spec.id).dir, { recursive: true, force: true });
  }

  /** The agent's log file, which its kernels and terminals' children inherit. */
  async output(_state: DriverState | null, spec: Pick<InstanceSpec, 'id'>, lines: number): Promise<string> {
    return tailFile(this.paths(spec.id).log, lines);
  }

  watch(listener: (id: string) => void): () => void {
    this._listeners.add(listener);
    return () => this._listeners.delete(listener);
  }

  async dispose(): Promise<void> {
    // Instances outlive the gateway: just stop listening to their exits.
    for (const child of this._children.values()) child.removeAllListeners('exit');
    this._children.clear();
    this._listeners.clear();
  }

  private _track(id: string, child: ChildProcess): void {
    this._children.set(id, child);
    child.unref();
    child.once('exit', () => {
      if (this._children.get(id) === child) this._children.delete(id);
      for (const l of this._listeners) l(id);
    });
  }

  private async _waitForPort(file: string, child: ChildProcess, logPath: string, signal: AbortSignal): Promise<number> {
    for (;;) {
      if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('start aborted');
      if (child.exitCode !== null || child.signalCode !== null) {
        const tail = (await readFile(logPath, 'utf8').catch(() => '')).split('\n').slice(-6).join('\n');
        throw new SpawnError(`the kernel gateway exited (code ${child.exitCode ?? child.signalCode}) before listening:\n${tail}`, { reason: 'agent-exit' });
      }
      try {
        const port = Number((await readFile(file, 'utf8')).trim());
        if (port > 0) return port;
      } catch {
        /* not written yet */
      }
      await sleep(POLL_MS);
    }
  }
}

/**
 * Waits until the agent answers `GET <base>api` with the instance's token.
 * @throws when the signal aborts first.
 */
export async function waitForAgent(endpoint: Endpoint, spec: Pick<InstanceSpec, 'baseUrl' | 'agentToken'>, signal: AbortSignal): Promise<void> {
  const url = `http://${endpoint.host}:${endpoint.port}${spec.baseUrl}api`;
  let delay = 10;
  for (;;) {
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('start aborted');
    try {
      const res = await fetch(url, { headers: { Authorization: `token ${spec.agentToken}` }, signal: AbortSignal.timeout(2_000) });
      if (res.ok) return;
    } catch {
      /* not up yet */
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 200);
  }
}

function isLocalState(s: DriverState): s is LocalState {
  return s.v === 1 && s.kind === 'local' && typeof s.pid === 'number' && typeof s.port === 'number';
}

function endpointOf(s: LocalState): Endpoint {
  return { host: '127.0.0.1', port: s.port };
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

/** The environment an agent inherits: ours, minus the gateway's own secrets. */
function agentEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('NBG_')) delete env[k];
  return env;
}

const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));
