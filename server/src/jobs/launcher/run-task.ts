/**
 * Runs a task's boot file: the command line (`--name=value` parameters, SPEC §8), the
 * environment (`DLS_*`, `BATCH_CUSTOM<i>_HOSTS`, local input/output directories), and the
 * child process with signals passed on.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { constants } from 'node:os';
import type { AgentSpec } from './protocol';
import { TASK_LAYOUT } from './protocol';

export interface TaskPlan {
  /** Program and arguments. */
  argv: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The container the command runs in (docker runtime): signals go to it. */
  container?: string;
}

export interface PlanOptions {
  index: number;
  /** `host:port` of every task, by index. */
  hosts: readonly string[];
  /** The task's working directory (`/home/work` of the job). */
  workDir: string;
  /** The launcher's own environment; its `NBG_JOB_*` settings are not passed on. */
  baseEnv: NodeJS.ProcessEnv;
}

/** `--name=value` for each parameter, in order. */
export function parameterArgs(params: AgentSpec['parameters']): string[] {
  return params.map(p => `--${p.name}=${p.value}`);
}

/** Where `/home/work` of the job is inside its container. */
export const CONTAINER_WORK = '/home/work';

/**
 * The job's own variables (SPEC §8), with its working directory at `root` (`/home/work` in a
 * container, the task's directory for a host process).
 */
export function jobVars(spec: AgentSpec, o: Pick<PlanOptions, 'index' | 'hosts'>, root: string): Record<string, string> {
  const env: Record<string, string> = { ...spec.env };
  env.DLS_TASK_INDEX = String(o.index);
  env.DLS_TASK_NUMBER = String(spec.tasks);
  o.hosts.forEach((h, i) => (env[`BATCH_CUSTOM${i}_HOSTS`] = h));
  env.NBG_OUTPUT_DIR = join(root, TASK_LAYOUT.outputs);
  if (spec.hasData) env.NBG_DATA_DIR = join(root, TASK_LAYOUT.data);
  // Logs stream while the job runs, instead of arriving in 4 KiB blocks or at exit.
  env.PYTHONUNBUFFERED = '1';
  return env;
}

/** A host process's environment: the launcher's minus its own settings, plus the job's variables. */
export function taskEnv(spec: AgentSpec, o: PlanOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(o.baseEnv)) if (!k.startsWith('NBG_JOB_') && !k.startsWith('NBG_TASK_')) env[k] = v;
  return { ...env, ...jobVars(spec, o, o.workDir) };
}

/** The container of task `index` (docker runtime). */
export function containerName(spec: AgentSpec, index: number): string | null {
  return spec.runtime.kind === 'docker' ? `${spec.runtime.name}-${index}` : null;
}

/** `host:port` of every task when the tasks run as containers on one network (no rendezvous needed). */
export function containerHosts(spec: AgentSpec): string[] | null {
  const rt = spec.runtime;
  return rt.kind === 'docker' ? Array.from({ length: spec.tasks }, (_, i) => `${rt.name}-${i}:${rt.port}`) : null;
}

/**
 * The command for the boot file: Python for `.py`, bash for `.sh`; on the host, or in the
 * job's image as `ma-user` with the flavor's CPU and memory limits and the task's directory
 * as `/home/work`.
 */
export function planTask(spec: AgentSpec, o: PlanOptions): TaskPlan {
  const sh = spec.bootFile.endsWith('.sh');
  const rt = spec.runtime;
  if (rt.kind === 'process') {
    const codeDir = join(o.workDir, TASK_LAYOUT.code, spec.codeDir);
    return { argv: [sh ? 'bash' : rt.python, join(codeDir, spec.bootFile), ...parameterArgs(spec.parameters)], cwd: codeDir, env: taskEnv(spec, o) };
  }
  const codeDir = `${CONTAINER_WORK}/${TASK_LAYOUT.code}/${spec.codeDir}`;
  const name = containerName(spec, o.index)!;
  const argv = [
    'docker', 'run', '--rm', '--name', name, '--hostname', name, '--network', rt.name,
    ...Object.entries(rt.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
    '--cpus', String(rt.cpus), '--memory', `${Math.round(rt.memoryGiB * 1024)}m`,
    '-v', `${o.workDir}:${CONTAINER_WORK}`, '-w', codeDir,
    ...Object.entries(jobVars(spec, o, CONTAINER_WORK)).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
    rt.image, sh ? 'bash' : 'python3', `${codeDir}/${spec.bootFile}`, ...parameterArgs(spec.parameters)
  ];
  return { argv, cwd: o.workDir, env: { PATH: o.baseEnv.PATH ?? '/usr/bin:/bin', ...(o.baseEnv.DOCKER_HOST ? { DOCKER_HOST: o.baseEnv.DOCKER_HOST } : {}) }, container: name };
}

export interface RunningTask {
  /** Resolves with the exit code (128 + signal number when killed by a signal). */
  exited: Promise<number>;
  /** Signals the boot file's process. */
  kill(signal: NodeJS.Signals): void;
}

/**
 * Starts the plan, its output going to ours.
 *
 * #### Notes
 * The child stays in the launcher's process group: an adapter that kills the group (cancel
 * after the grace period, Slurm's step teardown) takes the job's subprocesses with it.
 */
export function startTask(plan: TaskPlan): RunningTask {
  const child = spawn(plan.argv[0]!, plan.argv.slice(1), { cwd: plan.cwd, env: plan.env, stdio: ['ignore', 'inherit', 'inherit'] });
  const exited = new Promise<number>(resolve => {
    child.once('error', err => {
      process.stderr.write(`[nbg-job] cannot start ${plan.argv[0]}: ${err.message}\n`);
      resolve(127);
    });
    child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 1) : 1)));
  });
  return {
    exited,
    kill(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // The docker CLI passes signals on, but dies without stopping the container on SIGKILL.
      if (plan.container) spawn('docker', ['kill', `--signal=${signal}`, plan.container], { stdio: 'ignore', env: plan.env }).once('error', () => undefined);
      else child.kill(signal);
    }
  };
}
