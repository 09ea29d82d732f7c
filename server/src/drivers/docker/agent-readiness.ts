/**
 * When is an instance container ready: its agent answers, and its image offers a kernel.
 * A container that dies meanwhile fails the start at once, with its exit reason and last log
 * lines, instead of waiting for the start timeout.
 */
import type Docker from 'dockerode';
import { SpawnError, type Endpoint, type InstanceSpec } from '../driver';
import { describeExit } from './container-spec';
import type { ContainerWatcher } from './docker-events';
import { demuxDockerLog } from '../output-tail';

/** What `waitForAgent` watches: the agent's endpoint and the container it runs in. */
export interface WaitForAgentOptions {
  docker: Docker;
  watcher: ContainerWatcher;
  endpoint: Endpoint;
  spec: Pick<InstanceSpec, 'baseUrl' | 'agentToken'>;
  containerId: string;
  signal: AbortSignal;
}

/**
 * Resolves when the agent answers `GET <base>api`.
 * @throws SpawnError (`agent-exit`) when the container stops first; the signal's reason when aborted.
 */
export async function waitForAgent(o: WaitForAgentOptions): Promise<void> {
  const inner = new AbortController();
  const onAbort = (): void => inner.abort(o.signal.reason);
  o.signal.addEventListener('abort', onAbort, { once: true });
  const watchExit = async (): Promise<never> => {
    for (;;) {
      await sleep(200);
      if (inner.signal.aborted) throw inner.signal.reason;
      const cached = o.watcher.synced ? o.watcher.get(o.containerId) : undefined;
      if (cached?.running) continue;
      const info = await o.docker.getContainer(o.containerId).inspect().catch(() => null);
      if (info?.State.Running) continue;
      throw await stoppedWhileStarting(o.docker, o.containerId, info);
    }
  };
  try {
    await Promise.race([agentAnswers(o.endpoint, o.spec, inner.signal), watchExit()]);
  } finally {
    inner.abort(new Error('done'));
    o.signal.removeEventListener('abort', onAbort);
  }
}

/**
 * The start failure of a container that stopped before its agent answered: why, and the last
 * lines it printed.
 * @param info - its inspect, or null when it was removed.
 */
export async function stoppedWhileStarting(docker: Docker, containerId: string, info: Docker.ContainerInspectInfo | null): Promise<SpawnError> {
  const logs = info ? await logTail(docker, containerId) : '';
  return new SpawnError(
    `the container stopped while the kernel gateway was starting: ${info ? describeExit(info.State) : 'it was removed'}${logs ? `\n${logs}` : ''}`,
    { reason: 'agent-exit' }
  );
}

/**
 * Confirms the image offers a Jupyter kernel.
 * @returns the progress message naming the default kernel.
 * @throws SpawnError (`image`) when the image has no kernelspec.
 */
export async function checkKernels(endpoint: Endpoint, spec: Pick<InstanceSpec, 'baseUrl' | 'agentToken' | 'image'>): Promise<string> {
  const res = await fetch(`http://${endpoint.host}:${endpoint.port}${spec.baseUrl}api/kernelspecs`, {
    headers: { Authorization: `token ${spec.agentToken}` }, signal: AbortSignal.timeout(5_000)
  });
  const body = (await res.json()) as { default?: string; kernelspecs?: Record<string, { spec?: { display_name?: string } }> };
  const names = Object.keys(body.kernelspecs ?? {});
  if (names.length === 0) {
    throw new SpawnError(`image ${spec.image.name} has no Jupyter kernel (no kernelspec with ipykernel); it cannot run notebooks`, { reason: 'image', status: 400 });
  }
  const def = body.default && body.kernelspecs?.[body.default] ? body.default : names[0]!;
  return `kernel ready: ${body.kernelspecs?.[def]?.spec?.display_name ?? def} (${names.length} kernel${names.length > 1 ? 's' : ''})`;
}

/**
 * Polls `GET <base>api` every 20 ms until the agent answers. A container's port refuses at once
 * until the agent listens, so a short fixed interval costs little and, unlike a growing
 * backoff, adds at most 20 ms to every start.
 */
async function agentAnswers(endpoint: Endpoint, spec: Pick<InstanceSpec, 'baseUrl' | 'agentToken'>, signal: AbortSignal): Promise<void> {
  const url = `http://${endpoint.host}:${endpoint.port}${spec.baseUrl}api`;
  for (;;) {
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('start aborted');
    try {
      const res = await fetch(url, { headers: { Authorization: `token ${spec.agentToken}` }, signal: AbortSignal.any([signal, AbortSignal.timeout(2_000)]) });
      await res.body?.cancel();
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    await sleep(20);
  }
}

/** The container's last log lines (Docker's multiplexed stream, 8-byte frame headers). */
async function logTail(docker: Docker, containerId: string): Promise<string> {
  try {
    const buf = (await docker.getContainer(containerId).logs({ stdout: true, stderr: true, tail: 8 })) as unknown as Buffer;
    return demuxDockerLog(buf).trim();
  } catch {
    return '';
  }
}

const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));
