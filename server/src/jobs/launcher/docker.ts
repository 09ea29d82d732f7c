/**
 * The launcher's Docker steps (jobs run as containers): the version's bridge network, shared
 * by its tasks so they reach each other by container name, and a working directory `ma-user`
 * can write. The docker CLI does the work, so nothing but Node.js and Docker is needed on a node.
 */
import { execFile } from 'node:child_process';
import type { AgentRuntime } from './protocol';

type DockerRuntime = Extract<AgentRuntime, { kind: 'docker' }>;

/** `ma-user` in the engine images (SPEC §1: uid 1000). */
const JOB_USER = '1000:100';

function run(cmd: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, [...args], { timeout: 120_000 }, (err, stdout, stderr) => (err ? reject(new Error((stderr || err.message).trim())) : resolve(stdout)));
  });
}

/**
 * Checks the image, creates the network (once for all tasks), and gives the task's working
 * directory to the job's user.
 * @throws with a message for the job's log when the image is not on this node.
 */
export async function prepareContainers(rt: DockerRuntime, workDir: string): Promise<void> {
  try {
    await run('docker', ['image', 'inspect', '--format', '{{.Id}}', rt.image]);
  } catch {
    throw new Error(`the image ${rt.image} is not on this node (build it with images/build, or pull it from the registry)`);
  }
  const labels = Object.entries(rt.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  await run('docker', ['network', 'create', ...labels, rt.name]).catch(err => {
    // Another task of the version made it first.
    if (!/already exists/i.test((err as Error).message)) throw err;
  });
  await run('chown', ['-R', JOB_USER, workDir]);
}

/** Removes the network once the last task's container is gone (earlier tries fail harmlessly). */
export async function releaseContainers(rt: DockerRuntime): Promise<void> {
  await run('docker', ['network', 'rm', rt.name]).catch(() => undefined);
}
