/**
 * The Slurm adapter's pure parts: the batch script for a version, and parsers for what
 * `squeue`, `scontrol show job -o` and the `jobcomp/filetxt` file print. Unit-tested
 * without a cluster.
 */
import { LAUNCHER_ENV, TASK_FILES } from '../jobs/launcher/protocol';
import type { LaunchSpec, SchedulerStatus } from './scheduler';

export interface ScriptOptions {
  /** The submission's directory (shared with the nodes). */
  dir: string;
  /** The file with the current job-agent API URL (shared with the nodes). */
  apiFile: string;
  /** The token file. */
  tokenFile: string;
  /** Node.js on the nodes, and the launcher bundle. */
  nodePath: string;
  launcher: string;
  partition?: string;
  /** Several tasks may share a node (single-node clusters); otherwise one task per node. */
  packTasks: boolean;
  /** PATH of the batch script (it starts with an empty environment). */
  path: string;
}

/** Slurm job names: keep them printable and short (`squeue` shows 8+ characters). */
export function slurmJobName(displayName: string): string {
  return displayName.replace(/[^A-Za-z0-9_.:/@-]/g, '_').slice(0, 100);
}

/** Shell-quotes a value for the batch script. */
export function sq(v: string): string {
  return `'${v.replace(/'/g, `'\\''`)}'`;
}

/**
 * The batch script: resources from the flavor, one task per node (or packed), every task
 * a launcher started by `srun` with its own log file.
 *
 * #### Notes
 * - `--export=NONE`: the job does not inherit the gateway's environment (its settings and
 *   secrets); the script sets what the launcher needs, and `srun --export=ALL` passes that on
 *   (srun would otherwise inherit NONE and start tasks without even a PATH).
 * - `--kill-on-bad-exit`: one failed task ends the others, as a distributed job needs.
 * - Memory is per CPU so it scales when tasks share a node.
 */
export function slurmScript(spec: LaunchSpec, o: ScriptOptions): string {
  for (const k of Object.keys(spec.env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`invalid environment variable name "${k}"`);
  }
  const r = spec.resources;
  const memPerCpuMiB = Math.ceil((r.memoryGiB * 1024) / r.cpus);
  const lines = [
    '#!/bin/bash',
    `#SBATCH --job-name=${slurmJobName(spec.displayName)}`,
    `#SBATCH --comment=nbgateway:${spec.id}`,
    `#SBATCH --output=${o.dir}/batch.log`,
    `#SBATCH --chdir=${o.dir}`,
    `#SBATCH --ntasks=${spec.tasks}`,
    ...(o.packTasks ? [] : [`#SBATCH --nodes=${spec.tasks}`, '#SBATCH --ntasks-per-node=1']),
    `#SBATCH --cpus-per-task=${r.cpus}`,
    `#SBATCH --mem-per-cpu=${memPerCpuMiB}M`,
    ...(r.accelerators > 0 && r.chip === 'gpu' ? [`#SBATCH --gres=gpu:${r.accelerators}`] : []),
    ...(r.accelerators > 0 && r.chip === 'ascend' ? [`#SBATCH --gres=npu:${r.accelerators}`] : []),
    ...(o.partition ? [`#SBATCH --partition=${o.partition}`] : []),
    '#SBATCH --export=NONE',
    '#SBATCH --no-requeue',
    'set -u',
    `export PATH=${sq(o.path)}`,
    ...Object.entries(spec.env).map(([k, v]) => `export ${k}=${sq(v)}`),
    `export ${LAUNCHER_ENV.apiFile}=${sq(o.apiFile)}`,
    `export ${LAUNCHER_ENV.dir}=${sq(o.dir)}`,
    `export ${LAUNCHER_ENV.tokenFile}=${sq(o.tokenFile)}`,
    // %t = the task's rank: each task writes its own log; the launcher reads SLURM_PROCID.
    `exec srun --export=ALL --kill-on-bad-exit=1 --output=${sq(`${o.dir}/task-%t/${TASK_FILES.log}`)} ${sq(o.nodePath)} ${sq(o.launcher)}`,
    ''
  ];
  return lines.join('\n');
}

/** One line of `squeue -h -o '%i|%T|%r'`. */
export interface QueueEntry {
  jobId: string;
  state: string;
  reason: string;
}

export function parseSqueue(out: string): Map<string, QueueEntry> {
  const map = new Map<string, QueueEntry>();
  for (const line of out.split('\n')) {
    const [jobId, state, reason] = line.trim().split('|');
    if (jobId && state) map.set(jobId, { jobId, state, reason: reason ?? '' });
  }
  return map;
}

/** `Key=Value` pairs of one `scontrol show job -o` line or one jobcomp line. */
export function parseKeyValues(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  // Values have no spaces except a few free-text fields (Reason, Comment) we do not split on.
  for (const m of line.matchAll(/(\w+)=(\S*)/g)) out[m[1]!] ??= m[2]!;
  return out;
}

/** The jobcomp file's record of a job (the last one, when it was requeued). */
export function findJobComp(content: string, jobId: string): Record<string, string> | undefined {
  let found: Record<string, string> | undefined;
  for (const line of content.split('\n')) {
    if (!line.startsWith(`JobId=${jobId} `)) continue;
    found = parseKeyValues(line);
  }
  return found;
}

const QUEUED = new Set(['PENDING', 'CONFIGURING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'RESV_DEL_HOLD', 'SPECIAL_EXIT', 'SIGNALING']);
const RUNNING = new Set(['RUNNING', 'COMPLETING', 'SUSPENDED', 'STOPPED', 'RESIZING', 'STAGE_OUT']);

/** Whether Slurm still counts the job as queued or running. */
export function isActiveState(state: string): boolean {
  return QUEUED.has(state) || RUNNING.has(state);
}

/**
 * A Slurm job state (plus `ExitCode=code:signal` and the reason when known) as a scheduler status.
 * `COMPLETING` counts as running: the tasks are being torn down and their logs finished.
 */
export function statusOfSlurm(state: string, opts: { exitCode?: string; reason?: string } = {}): SchedulerStatus {
  if (QUEUED.has(state)) return { state: 'queued', ...(opts.reason && opts.reason !== 'None' ? { reason: `Slurm: ${opts.reason}` } : {}) };
  if (RUNNING.has(state)) return { state: 'running' };
  const [code, signal] = (opts.exitCode ?? '').split(':').map(Number);
  const exit = Number.isInteger(code) ? (code as number) : undefined;
  switch (state) {
    case 'COMPLETED':
      return { state: 'succeeded' };
    case 'CANCELLED':
      return { state: 'canceled' };
    case 'FAILED':
      return { state: 'failed', reason: signal ? `Slurm: a task was killed by signal ${signal}` : `Slurm: a task exited with code ${exit ?? '?'}`, ...(exit !== undefined ? { exitCode: exit } : {}) };
    case 'TIMEOUT':
      return { state: 'failed', reason: 'Slurm: the job reached its time limit' };
    case 'NODE_FAIL':
      return { state: 'failed', reason: 'Slurm: a node of the job failed' };
    case 'OUT_OF_MEMORY':
      return { state: 'failed', reason: 'Slurm: a task ran out of memory (raise the flavor\'s memory)' };
    case 'BOOT_FAIL':
      return { state: 'failed', reason: 'Slurm: a node failed to boot' };
    case 'PREEMPTED':
      return { state: 'failed', reason: 'Slurm: the job was preempted' };
    case 'DEADLINE':
      return { state: 'failed', reason: 'Slurm: the job missed its deadline' };
    default:
      return { state: 'failed', reason: `Slurm: the job ended in state ${state}` };
  }
}
