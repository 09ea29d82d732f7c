/**
 * The Slurm adapter: a version is one batch job (`sbatch` of a generated script) whose
 * tasks are launchers started by `srun` on the allocated nodes, with CPU, memory and GPUs
 * from the flavor. Status comes from `squeue` while Slurm lists the job, then from
 * `scontrol show job` and the `jobcomp/filetxt` file (there is no `sacct` without slurmdbd);
 * cancel is `scancel`; logs are the per-task output files.
 *
 * #### Notes
 * - `sharedDir` must be visible at the same path on the gateway and on every node (NFS on a
 *   real cluster): it holds the scripts, tokens, logs and the tasks' working directories.
 * - One `squeue` call serves every status question within a short window, so polling many
 *   versions costs one command per poll.
 * - The gateway's environment never reaches jobs (`--export=NONE`).
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../logger';
import { TASK_FILES, taskDirName, type ExitRecord } from '../jobs/launcher/protocol';
import { launcherEnv, readJson, readLogChunk, writeAtomic } from './support';
import { SUBMISSION_FILES, type ISchedulerAdapter, type LaunchSpec, type LogChunk, type SchedulerHandle, type SchedulerStatus } from './scheduler';
import { findJobComp, isActiveState, parseKeyValues, parseSqueue, slurmScript, statusOfSlurm, type QueueEntry } from './slurm-script';

export interface SlurmSchedulerOptions {
  sharedDir: string;
  /** The launcher bundle and Node.js, at paths valid on the nodes. */
  launcher: string;
  nodePath?: string;
  /** `SLURM_CONF` for the commands; empty: Slurm's default. */
  slurmConf?: string;
  partition?: string;
  jobCompFile?: string;
  packTasks: boolean;
  /** How long `cancel` waits for Slurm to drop the job from its queue. */
  stopTimeoutMs: number;
  log: Logger;
  /** Where the Slurm commands are; empty: PATH. */
  binDir?: string;
}

interface SlurmHandle extends SchedulerHandle {
  v: 1;
  kind: 'slurm';
  id: string;
  jobId: string;
}

const COMMAND_TIMEOUT_MS = 30_000;
const SNAPSHOT_MS = 250;
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export class SlurmScheduler implements ISchedulerAdapter {
  readonly kind = 'slurm';
  private _snapshot: { at: number; jobs: Promise<Map<string, QueueEntry>> } | null = null;

  constructor(private readonly _o: SlurmSchedulerOptions) {}

  private _dir(id: string): string {
    return join(this._o.sharedDir, id);
  }

  async publishApiUrl(url: string): Promise<void> {
    await mkdir(this._o.sharedDir, { recursive: true });
    await writeAtomic(join(this._o.sharedDir, SUBMISSION_FILES.apiUrl), `${url}\n`);
  }

  async submit(spec: LaunchSpec): Promise<SchedulerHandle> {
    const dir = this._dir(spec.id);
    for (let i = 0; i < spec.tasks; i++) await mkdir(join(dir, taskDirName(i)), { recursive: true });
    await writeAtomic(join(dir, SUBMISSION_FILES.token), spec.token, 0o600);
    // Idempotent: a gateway that died between sbatch and recording the handle finds the job again.
    const known = (await readFile(join(dir, 'slurm-job-id'), 'utf8').catch(() => '')).trim();
    if (known) return this._handle(spec.id, known);
    const script = slurmScript(spec, {
      dir,
      apiFile: join(this._o.sharedDir, SUBMISSION_FILES.apiUrl),
      tokenFile: join(dir, SUBMISSION_FILES.token),
      nodePath: this._o.nodePath ?? process.execPath,
      launcher: this._o.launcher,
      partition: this._o.partition || undefined,
      packTasks: this._o.packTasks,
      path: PATH
    });
    const file = join(dir, 'job.sbatch');
    await writeFile(file, script, { mode: 0o700 });
    const out = await this._run('sbatch', ['--parsable', file]);
    const jobId = out.trim().split(';')[0]!;
    if (!/^\d+$/.test(jobId)) throw new Error(`sbatch printed "${out.trim()}" instead of a job id`);
    await writeFile(join(dir, 'slurm-job-id'), jobId);
    this._snapshot = null;
    this._o.log.info({ job: spec.id, slurmJob: jobId, tasks: spec.tasks }, 'submitted to Slurm');
    return this._handle(spec.id, jobId);
  }

  async status(handle: SchedulerHandle): Promise<SchedulerStatus> {
    if (!isSlurmHandle(handle)) return { state: 'unknown', reason: `the submission was made by the ${handle.kind} scheduler` };
    const queued = (await this._queue()).get(handle.jobId);
    if (queued && isActiveState(queued.state)) return statusOfSlurm(queued.state, { reason: queued.reason });
    const record = (await this._scontrol(handle.jobId)) ?? (await this._jobComp(handle.jobId));
    if (!record) return this._fromExitFiles(handle, 'Slurm has no record of the job (it ended longer ago than MinJobAge and there is no jobcomp record)');
    const s = statusOfSlurm(record.JobState ?? 'UNKNOWN', { exitCode: record.ExitCode, reason: record.Reason });
    if (s.state === 'failed') return this._withTaskReason(handle, s);
    if (s.state === 'succeeded') {
      // A task may have failed after Slurm saw exit 0 (e.g. an upload error reported in exit.json).
      const files = await this._fromExitFiles(handle, '');
      if (files.state === 'failed') return files;
    }
    return s;
  }

  async cancel(handle: SchedulerHandle): Promise<void> {
    if (!isSlurmHandle(handle)) return;
    await this._run('scancel', [handle.jobId]).catch(err => this._o.log.warn({ err, slurmJob: handle.jobId }, 'scancel failed'));
    this._snapshot = null;
    const deadline = Date.now() + this._o.stopTimeoutMs;
    while (Date.now() < deadline) {
      const out = await this._run('squeue', ['-h', '-j', handle.jobId, '-o', '%T']).catch(() => '');
      if (!out.trim() || !isActiveState(out.trim())) {
        this._snapshot = null;
        return;
      }
      await new Promise(r => setTimeout(r, 100));
    }
    this._o.log.warn({ slurmJob: handle.jobId }, 'the job is still in squeue after scancel');
  }

  async logs(handle: SchedulerHandle, opts: { task: number; offset?: number; limit?: number }): Promise<LogChunk> {
    if (!isSlurmHandle(handle)) return { text: '', nextOffset: 0, size: 0 };
    return readLogChunk(join(this._dir(handle.id), taskDirName(opts.task), TASK_FILES.log), opts.offset ?? 0, opts.limit);
  }

  async remove(handle: SchedulerHandle): Promise<void> {
    if (!isSlurmHandle(handle)) return;
    await rm(this._dir(handle.id), { recursive: true, force: true });
  }

  async dispose(): Promise<void> {
    this._snapshot = null;
  }

  // ---- mechanism ----------------------------------------------------------------------------

  private _handle(id: string, jobId: string): SlurmHandle {
    return { v: 1, kind: 'slurm', id, jobId };
  }

  /** Every job Slurm lists now, from one `squeue` shared by concurrent callers. */
  private _queue(): Promise<Map<string, QueueEntry>> {
    const now = Date.now();
    if (!this._snapshot || now - this._snapshot.at > SNAPSHOT_MS) {
      const jobs = this._run('squeue', ['-h', '-a', '-o', '%i|%T|%r']).then(parseSqueue);
      this._snapshot = { at: now, jobs };
      jobs.catch(() => (this._snapshot = null));
    }
    return this._snapshot.jobs;
  }

  private async _scontrol(jobId: string): Promise<Record<string, string> | undefined> {
    try {
      const out = await this._run('scontrol', ['show', 'job', '-o', jobId]);
      const line = out.split('\n').find(l => l.startsWith(`JobId=${jobId} `));
      return line ? parseKeyValues(line) : undefined;
    } catch (err) {
      if (/Invalid job id/i.test((err as Error).message)) return undefined;
      throw err;
    }
  }

  private async _jobComp(jobId: string): Promise<Record<string, string> | undefined> {
    if (!this._o.jobCompFile) return undefined;
    const content = await readFile(this._o.jobCompFile, 'utf8').catch(() => '');
    return findJobComp(content, jobId);
  }

  /** How the tasks ended, from the launchers' `exit.json` files. */
  private async _fromExitFiles(handle: SlurmHandle, missing: string): Promise<SchedulerStatus> {
    const dir = this._dir(handle.id);
    const tasks = (await readFile(join(dir, 'job.sbatch'), 'utf8').catch(() => '')).match(/--ntasks=(\d+)/);
    const n = Number(tasks?.[1] ?? 1);
    let all = true;
    for (let i = 0; i < n; i++) {
      const rec = await readJson<ExitRecord>(join(dir, taskDirName(i), TASK_FILES.exit));
      if (!rec) {
        all = false;
        continue;
      }
      if (rec.phase === 'canceled') return { state: 'canceled' };
      if (rec.exitCode !== 0) return { state: 'failed', reason: `task ${i}: ${rec.message ?? `the boot file exited with code ${rec.exitCode}`}`, exitCode: rec.exitCode };
    }
    if (all) return { state: 'succeeded' };
    return missing ? { state: 'unknown', reason: missing } : { state: 'succeeded' };
  }

  /** A failure's reason from the tasks' records when they have one, else Slurm's plus the batch log's tail. */
  private async _withTaskReason(handle: SlurmHandle, s: Extract<SchedulerStatus, { state: 'failed' }>): Promise<SchedulerStatus> {
    const files = await this._fromExitFiles(handle, '');
    if (files.state === 'failed') return files;
    const tail = (await readFile(join(this._dir(handle.id), 'batch.log'), 'utf8').catch(() => '')).trim().split('\n').slice(-3).join(' | ');
    return tail ? { ...s, reason: `${s.reason}: ${tail}` } : s;
  }

  private _run(cmd: string, args: string[]): Promise<string> {
    const env: NodeJS.ProcessEnv = { ...launcherEnv(), ...(this._o.slurmConf ? { SLURM_CONF: this._o.slurmConf } : {}) };
    const file = this._o.binDir ? join(this._o.binDir, cmd) : cmd;
    return new Promise((resolve, reject) => {
      execFile(file, args, { env, timeout: COMMAND_TIMEOUT_MS, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${(stderr || err.message).trim()}`));
        else resolve(stdout);
      });
    });
  }
}

function isSlurmHandle(h: SchedulerHandle): h is SlurmHandle {
  return h.v === 1 && h.kind === 'slurm' && typeof h.id === 'string' && typeof h.jobId === 'string';
}

