/**
 * The job launcher (`kernel-gateway/dist/nbg-job.cjs`): runs one task of a training-job
 * version on a node, started by a scheduler adapter (a local process, or `srun` in a Slurm
 * batch script). It asks the gateway what to run, downloads the code to
 * `user-job-dir/<dir>/` (and the data), meets the other tasks (`BATCH_CUSTOM<i>_HOSTS`),
 * runs the boot file with `--name=value` parameters and the `DLS_*` environment, uploads
 * the outputs to `<output URL>/V000n/`, and exits with the boot file's exit code.
 *
 * #### Notes
 * - Its stdout and stderr are the task's log: the job's own output passes straight through;
 *   the launcher's lines start with `[nbg-job]`.
 * - It writes `exit.json` in its task directory before exiting, so an adapter knows how the
 *   task ended even when no process is left to ask (a gateway restart).
 * - SIGTERM (cancel, `scancel`) is passed to the boot file's process group; outputs are not
 *   uploaded for a canceled run.
 * - Node built-ins only: the bundle runs on any node with Node.js ≥ 20.
 */
import { createServer } from 'node:net';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { LAUNCHER_ENV, TASK_FILES, TASK_LAYOUT, taskDirName, type AgentSpec, type ExitRecord, type Rendezvous } from './protocol';
import { AgentClient, AgentRefusedError } from './agent-client';
import { downloadInput, uploadOutputs } from './transfer';
import { containerHosts, planTask, startTask, type RunningTask } from './run-task';
import { prepareContainers, releaseContainers } from './docker';

/** Time the boot file gets to exit after SIGTERM before its group is killed. */
const KILL_GRACE_MS = 10_000;

function say(message: string): void {
  process.stderr.write(`[nbg-job ${new Date().toISOString()}] ${message}\n`);
}

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set; the launcher is started by the gateway's scheduler adapters`);
  return v;
}

/** A port free on this node now, for the task to listen on (`BATCH_CUSTOM<i>_HOSTS`). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function rendezvous(client: AgentClient, deadlineMs: number): Promise<string[]> {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    const r = await client.json<Rendezvous>('GET', `/rendezvous?wait=${Math.min(20_000, Math.max(1, deadline - Date.now()))}`, undefined, { timeoutMs: 30_000 });
    if (r.hosts) return r.hosts;
  }
  throw new Error(`the other tasks did not start within ${Math.round(deadlineMs / 1000)} s`);
}

async function main(): Promise<number> {
  const index = Number(process.env[LAUNCHER_ENV.taskIndex] ?? process.env.SLURM_PROCID ?? 0);
  const taskDir = join(required(LAUNCHER_ENV.dir), taskDirName(index));
  const workDir = join(taskDir, TASK_FILES.work);
  const token = (await readFile(required(LAUNCHER_ENV.tokenFile), 'utf8')).trim();
  const client = new AgentClient({
    apiUrl: process.env[LAUNCHER_ENV.api],
    apiFile: process.env[LAUNCHER_ENV.apiFile],
    token,
    retryDeadlineMs: Number(process.env.NBG_JOB_RETRY_SECONDS ?? 600) * 1000,
    log: say
  });

  let phase: ExitRecord['phase'] = 'stage';
  let running: RunningTask | null = null;
  let canceled = false;
  const finish = async (rec: ExitRecord): Promise<number> => {
    await mkdir(taskDir, { recursive: true });
    await writeFile(join(taskDir, TASK_FILES.exit), JSON.stringify(rec));
    return rec.exitCode;
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    say(`${signal}: the run is being canceled`);
    canceled = true;
    if (!running) {
      void finish({ exitCode: 143, phase: 'canceled' }).finally(() => process.exit(143));
      return;
    }
    running.kill('SIGTERM');
    setTimeout(() => running?.kill('SIGKILL'), KILL_GRACE_MS).unref();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  let exitCode = 1;
  try {
    const spec = await client.json<AgentSpec>('GET', `/spec?task=${index}`);
    const host = hostname();
    const port = await freePort();
    say(`task ${index} of ${spec.tasks}, ${spec.jobName} ${spec.version}, on ${host}`);
    await client.json('POST', '/events', { task: index, event: 'started', host, port });

    let t0 = Date.now();
    const code = await downloadInput(client, 'code', join(workDir, TASK_LAYOUT.code, spec.codeDir));
    say(`code: ${code.files} files, ${code.bytes} bytes in ${Date.now() - t0} ms → ${join(TASK_LAYOUT.code, spec.codeDir)}/`);
    if (spec.hasData) {
      t0 = Date.now();
      const data = await downloadInput(client, 'data', join(workDir, TASK_LAYOUT.data));
      say(`data: ${data.files} files, ${data.bytes} bytes in ${Date.now() - t0} ms`);
    }
    const outputs = join(workDir, TASK_LAYOUT.outputs);
    await mkdir(outputs, { recursive: true });
    // Containers find each other by name on the version's network; host processes meet through the gateway.
    const hosts = containerHosts(spec) ?? (spec.tasks > 1 ? await rendezvous(client, Number(process.env.NBG_JOB_RENDEZVOUS_SECONDS ?? 600) * 1000) : [`${host}:${port}`]);
    if (spec.runtime.kind === 'docker') await prepareContainers(spec.runtime, index, workDir);

    phase = 'run';
    if (canceled) return await finish({ exitCode: 143, phase: 'canceled' });
    const plan = planTask(spec, { index, hosts, workDir, baseEnv: process.env });
    say(`running ${spec.bootFile}${spec.parameters.length ? ` with ${spec.parameters.map(p => `--${p.name}=…`).join(' ')}` : ''}`);
    running = startTask(plan);
    exitCode = await running.exited;
    running = null;
    if (spec.runtime.kind === 'docker') await releaseContainers(spec.runtime, plan.container!);
    say(`${spec.bootFile} exited with code ${exitCode}`);
    if (canceled) return await finish({ exitCode: 143, phase: 'canceled' });

    phase = 'upload';
    t0 = Date.now();
    const up = await uploadOutputs(client, outputs);
    say(`outputs: ${up.files} files, ${up.bytes} bytes uploaded in ${Date.now() - t0} ms`);
    await client.json('POST', '/events', { task: index, event: 'finished', exitCode });
    return await finish({ exitCode, phase: 'run' });
  } catch (err) {
    const message = err instanceof AgentRefusedError ? `the gateway refused: ${err.message}` : (err as Error).message;
    say(`error while ${phase === 'stage' ? 'staging' : phase === 'upload' ? 'uploading outputs' : 'running'}: ${message}`);
    if (!(err instanceof AgentRefusedError)) {
      await client.json('POST', '/events', { task: index, event: 'error', message: `${phase}: ${message}` }).catch(() => undefined);
    }
    // A run that failed keeps its own code; staging or upload problems after a success fail the task.
    return finish({ exitCode: exitCode === 0 || phase === 'stage' ? 1 : exitCode, phase, message });
  }
}

main().then(
  code => process.exit(code),
  err => {
    say(`fatal: ${(err as Error).message}`);
    process.exit(1);
  }
);
