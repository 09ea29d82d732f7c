/**
 * The launcher's Docker steps (jobs run as containers): the version's bridge network, shared
 * by its tasks so they reach each other by container name, and a working directory `ma-user`
 * can write. The docker CLI does the work, so nothing but Node.js and Docker is needed on a node.
 */
import { execFile } from 'node:child_process';
import type { AgentRuntime } from './protocol';

type DockerRuntime = Extract<AgentRuntime, { kind: 'docker' }>;

/** How long tasks other than 0 wait for task 0 to create the network. */
const NETWORK_WAIT_MS = 120_000;

/** `ma-user` in the engine images (SPEC §1: uid 1000). */
const JOB_USER = '1000:100';

function run(cmd: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, [...args], { timeout: 120_000 }, (err, stdout, stderr) => (err ? reject(new Error((stderr || err.message).trim())) : resolve(stdout)));
  });
}

/**
 * Checks the image, makes sure the version's network exists (task 0 creates it: Docker allows
 * two networks of one name, so tasks must not race to create it; the others wait for it), and
 * gives the task's working directory to the job's user.
 * @throws with a message for the job's log when the image is not on this node.
 */
export async function prepareContainers(rt: DockerRuntime, index: number, workDir: string): Promise<void> {
  try {
    await run('docker', ['image', 'inspect', '--format', '{{.Id}}', rt.image]);
  } catch {
    throw new Error(`the image ${rt.image} is not on this node (build it with images/build, or pull it from the registry)`);
  }
  const exists = (): Promise<boolean> => run('docker', ['network', 'inspect', '--format', '{{.Id}}', rt.name]).then(() => true, () => false);
  if (index === 0) {
    if (!(await exists())) {
      const labels = Object.entries(rt.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
      await run('docker', ['network', 'create', ...labels, rt.name]);
    }
  } else {
    const deadline = Date.now() + NETWORK_WAIT_MS;
    while (!(await exists())) {
      if (Date.now() > deadline) throw new Error(`task 0 did not create the network ${rt.name} within ${NETWORK_WAIT_MS / 1000} s`);
      await new Promise(r => setTimeout(r, 100));
    }
  }
  await run('chown', ['-R', JOB_USER, workDir]);
}

/**
 * After a task's container ended: removes it if `--rm` could not (a container created but never
 * started, e.g. when the daemon refused to attach it), then the network once the last task's
 * container is gone (earlier tries fail harmlessly).
 */
export async function releaseContainers(rt: DockerRuntime, container: string): Promise<void> {
  await run('docker', ['rm', '-f', container]).catch(() => undefined);
  await run('docker', ['network', 'rm', rt.name]).catch(() => undefined);
}
