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

/** The job's environment (SPEC §8), on top of the launcher's minus its own settings. */
export function taskEnv(spec: AgentSpec, o: PlanOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(o.baseEnv)) if (!k.startsWith('NBG_JOB_') && !k.startsWith('NBG_TASK_')) env[k] = v;
  Object.assign(env, spec.env);
  env.DLS_TASK_INDEX = String(o.index);
  env.DLS_TASK_NUMBER = String(spec.tasks);
  o.hosts.forEach((h, i) => (env[`BATCH_CUSTOM${i}_HOSTS`] = h));
  env.NBG_OUTPUT_DIR = join(o.workDir, TASK_LAYOUT.outputs);
  if (spec.hasData) env.NBG_DATA_DIR = join(o.workDir, TASK_LAYOUT.data);
  // Logs stream while the job runs, instead of arriving in 4 KiB blocks or at exit.
  env.PYTHONUNBUFFERED = '1';
  return env;
}

/** The command for the boot file: Python for `.py`, bash for `.sh`. */
export function planTask(spec: AgentSpec, o: PlanOptions): TaskPlan {
  if (spec.runtime.kind !== 'process') throw new Error(`runtime "${spec.runtime.kind}" is not available to this launcher`);
  const codeDir = join(o.workDir, TASK_LAYOUT.code, spec.codeDir);
  const boot = join(codeDir, spec.bootFile);
  const program = spec.bootFile.endsWith('.sh') ? ['bash'] : [spec.runtime.python];
  return { argv: [...program, boot, ...parameterArgs(spec.parameters)], cwd: codeDir, env: taskEnv(spec, o) };
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
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    }
  };
}
