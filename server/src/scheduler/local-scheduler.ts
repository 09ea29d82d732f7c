/**
 * The local scheduler (embedded default): runs versions on this host, one launcher process
 * per task, with a bounded queue and a concurrency limit.
 *
 * Each submission is a directory `<dir>/<id>/` holding `spec.json`, the token file, a
 * `canceled` marker, and per task `task-<i>/{pid.json, output.log, exit.json, work/}`. The
 * directory is the state: a restarted gateway finds queued, running and finished
 * submissions again from it, and launchers (detached, in their own process groups) keep
 * running while the gateway is down.
 *
 * #### Notes
 * - A task that fails ends its siblings (like `srun --kill-on-bad-exit`).
 * - Processes are identified by pid + start time, so a recycled pid is never ours.
 * - A gateway that died between spawning a launcher and writing its `pid.json` leaves a
 *   submission that looks queued: the restarted gateway first looks for a live launcher in
 *   each task directory (by working directory) and adopts it, and a task with an exit record
 *   has run, so neither runs a second time; then it starts what really was queued.
 * - No isolation between jobs beyond Unix permissions and no resource limits in process
 *   mode: this is for one person's machine or CI. Slurm (or Docker) is for tenants.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, open, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../logger';
import { isAlive, processesInDir, readStat, type ProcessIdentity } from '../drivers/local/process-info';
import { LAUNCHER_ENV, TASK_FILES, taskDirName, type ExitRecord } from '../jobs/launcher/protocol';
import { exists, launcherEnv, readJson, readLogChunk, writeAtomic } from './support';
import { SUBMISSION_FILES, SchedulerFullError, type ISchedulerAdapter, type LaunchSpec, type LogChunk, type SchedulerHandle, type SchedulerStatus, type TaskResources } from './scheduler';

export interface LocalSchedulerOptions {
  /** Submissions live in `<dir>/<id>/`. */
  dir: string;
  /** The built launcher (`nbg-job.cjs`). */
  launcher: string;
  /** Versions running at once. */
  concurrency: number;
  /** Versions waiting beyond those; more are refused. */
  queueMax: number;
  /** Grace after SIGTERM before a canceled task is killed. */
  stopTimeoutMs: number;
  log: Logger;
  nodePath?: string;
  /** Removes what a submission's tasks leave outside their processes (containers), after a cancel. */
  cleanup?: (id: string) => Promise<void>;
}

interface LocalHandle extends SchedulerHandle {
  v: 1;
  kind: 'local';
  id: string;
}

interface SubmissionFile {
  tasks: number;
  env: Record<string, string>;
  submittedAt: number;
}

type Phase = 'queued' | 'running' | 'done';

interface Entry {
  id: string;
  tasks: number;
  submittedAt: number;
  phase: Phase;
}

const POLL_MS = 25;

export class LocalScheduler implements ISchedulerAdapter {
  readonly kind = 'local';
  private readonly _entries = new Map<string, Entry>();
  private readonly _children = new Map<string, ChildProcess[]>();
  private readonly _listeners = new Set<(id: string) => void>();
  /** Submissions whose tasks are being started (their pid files are not all written yet). */
  private readonly _launching = new Set<string>();
  private readonly _ready: Promise<void>;
  private _pumping: Promise<void> = Promise.resolve();
  private _disposed = false;

  constructor(private readonly _o: LocalSchedulerOptions) {
    // What a previous gateway left queued starts now, not at the next submission.
    this._ready = this._scan().then(() => void this._pump());
  }

  private _dir(id: string): string {
    return join(this._o.dir, id);
  }

  private _taskDir(id: string, task: number): string {
    return join(this._dir(id), taskDirName(task));
  }

  unsupported(r: TaskResources): string | null {
    return r.chip === 'cpu' ? null : `${r.chip} flavors need the Slurm scheduler (GPUs and NPUs are not allocated to host processes)`;
  }

  async publishApiUrl(url: string): Promise<void> {
    await this._ready;
    await writeAtomic(join(this._o.dir, SUBMISSION_FILES.apiUrl), `${url}\n`);
  }

  async full(): Promise<string | null> {
    await this._ready;
    const queued = [...this._entries.values()].filter(e => e.phase === 'queued').length;
    return queued >= this._o.queueMax ? `${queued} versions are queued (the local queue holds ${this._o.queueMax}; ${this._o.concurrency} run at once)` : null;
  }

  async submit(spec: LaunchSpec): Promise<SchedulerHandle> {
    await this._ready;
    const handle: LocalHandle = { v: 1, kind: 'local', id: spec.id };
    const dir = this._dir(spec.id);
    // Idempotent: a gateway that died between submitting and recording the handle submits
    // again, with a new token.
    if (this._entries.has(spec.id)) {
      await writeAtomic(join(dir, SUBMISSION_FILES.token), spec.token, 0o600);
      void this._pump();
      return handle;
    }
    const why = await this.full();
    if (why) throw new SchedulerFullError(why);
    for (let i = 0; i < spec.tasks; i++) await mkdir(this._taskDir(spec.id, i), { recursive: true });
    await writeAtomic(join(dir, SUBMISSION_FILES.token), spec.token, 0o600);
    const file: SubmissionFile = { tasks: spec.tasks, env: spec.env, submittedAt: Date.now() };
    await writeFile(join(dir, 'spec.json'), JSON.stringify(file), { mode: 0o600 });
    this._entries.set(spec.id, { id: spec.id, tasks: spec.tasks, submittedAt: file.submittedAt, phase: 'queued' });
    this._o.log.info({ job: spec.id, tasks: spec.tasks }, 'queued');
    await this._pump();
    return handle;
  }

  async status(handle: SchedulerHandle): Promise<SchedulerStatus> {
    await this._ready;
    if (!isLocalHandle(handle)) return { state: 'unknown', reason: `the submission was made by the ${handle.kind} scheduler` };
    const e = this._entries.get(handle.id);
    if (!e) return { state: 'unknown', reason: 'the local scheduler has no record of it (its directory is gone)' };
    const s = await this._inspect(e);
    if (s.state !== 'running' && s.state !== 'queued' && e.phase !== 'done') {
      e.phase = 'done';
      void this._pump();
    }
    return s;
  }

  /** Reads the submission's state from its files and processes; ends siblings of a failed task. */
  private async _inspect(e: Entry): Promise<SchedulerStatus> {
    const dir = this._dir(e.id);
    const canceled = await exists(join(dir, 'canceled'));
    if (e.phase === 'queued') {
      if (canceled) return { state: 'canceled' };
      const ahead = [...this._entries.values()].filter(x => x.phase === 'queued' && x.submittedAt < e.submittedAt).length;
      return { state: 'queued', reason: `waiting for a free slot: ${this._o.concurrency} version(s) run at once, ${ahead} queued ahead` };
    }
    if (this._launching.has(e.id)) return { state: 'running' };
    let alive = 0;
    const failures: { task: number; rec: ExitRecord | null }[] = [];
    let done = 0;
    for (let i = 0; i < e.tasks; i++) {
      const pid = await readJson<ProcessIdentity>(join(this._taskDir(e.id, i), 'pid.json'));
      if (pid && (await isAlive(pid))) {
        alive++;
        continue;
      }
      const rec = await readJson<ExitRecord>(join(this._taskDir(e.id, i), TASK_FILES.exit));
      if (rec && rec.exitCode === 0) done++;
      else failures.push({ task: i, rec });
    }
    // The task that failed first, not the siblings it took down.
    const failed = failures.find(f => f.rec?.phase !== 'canceled') ?? failures[0];
    if (canceled) return alive > 0 ? { state: 'running' } : { state: 'canceled' };
    if (failed) {
      if (alive > 0) {
        // Fail fast: the other tasks of a distributed run cannot finish without this one.
        await this._kill(e, 'SIGTERM');
        return { state: 'running' };
      }
      const { task, rec } = failed;
      const reason = rec
        ? rec.message
          ? `task ${task}: ${rec.message}`
          : `task ${task}: the boot file exited with code ${rec.exitCode}`
        : `task ${task}: the launcher ended without reporting (killed?)`;
      return { state: 'failed', reason, ...(rec ? { exitCode: rec.exitCode } : {}) };
    }
    if (done === e.tasks) return { state: 'succeeded' };
    return { state: 'running' };
  }

  async cancel(handle: SchedulerHandle): Promise<void> {
    await this._ready;
    if (!isLocalHandle(handle)) return;
    const e = this._entries.get(handle.id);
    if (!e) return;
    await writeFile(join(this._dir(e.id), 'canceled'), String(Date.now())).catch(() => undefined);
    if (e.phase !== 'running') {
      e.phase = 'done';
      return;
    }
    await this._kill(e, 'SIGTERM');
    const deadline = Date.now() + this._o.stopTimeoutMs;
    while (Date.now() < deadline && (await this._alive(e)).length > 0) await sleep(POLL_MS);
    if ((await this._alive(e)).length > 0) {
      this._o.log.warn({ job: e.id }, 'tasks did not stop in time; killing them');
      await this._kill(e, 'SIGKILL');
      for (let i = 0; i < 200 && (await this._alive(e)).length > 0; i++) await sleep(POLL_MS);
    }
    e.phase = 'done';
    await this._o.cleanup?.(e.id).catch(err => this._o.log.warn({ err, job: e.id }, 'cleanup after cancel failed'));
    void this._pump();
  }

  async logs(handle: SchedulerHandle, opts: { task: number; offset?: number; limit?: number }): Promise<LogChunk> {
    if (!isLocalHandle(handle)) return { text: '', nextOffset: 0, size: 0 };
    return readLogChunk(join(this._taskDir(handle.id, opts.task), TASK_FILES.log), opts.offset ?? 0, opts.limit);
  }

  async remove(handle: SchedulerHandle): Promise<void> {
    await this._ready;
    if (!isLocalHandle(handle)) return;
    const e = this._entries.get(handle.id);
    if (e && e.phase === 'running') await this.cancel(handle);
    this._entries.delete(handle.id);
    await this._o.cleanup?.(handle.id).catch(() => undefined);
    await rm(this._dir(handle.id), { recursive: true, force: true });
  }

  watch(listener: (id: string) => void): () => void {
    this._listeners.add(listener);
    return () => this._listeners.delete(listener);
  }

  async dispose(): Promise<void> {
    if (this._disposed) return;
    this._disposed = true;
    // Jobs outlive the gateway: stop listening to their exits, leave them running.
    for (const list of this._children.values()) for (const c of list) c.removeAllListeners('exit');
    this._children.clear();
    this._listeners.clear();
    await this._pumping.catch(() => undefined);
  }

  // ---- mechanism ----------------------------------------------------------------------------

  /** Finds submissions a previous gateway process left (queued, running, finished). */
  private async _scan(): Promise<void> {
    await mkdir(this._o.dir, { recursive: true });
    for (const id of await readdir(this._o.dir)) {
      const file = await readJson<SubmissionFile>(join(this._dir(id), 'spec.json'));
      if (!file) continue;
      const e: Entry = { id, tasks: file.tasks, submittedAt: file.submittedAt, phase: 'queued' };
      if (await exists(join(this._dir(id), 'canceled'))) e.phase = 'done';
      else {
        await this._adopt(e);
        if (await this._launchedBefore(e)) e.phase = (await this._alive(e)).length > 0 ? 'running' : 'done';
      }
      this._entries.set(id, e);
    }
  }

  /** Whether any task of a submission was ever launched (a pid or an exit record). */
  private async _launchedBefore(e: Entry): Promise<boolean> {
    for (let i = 0; i < e.tasks; i++) {
      const t = this._taskDir(e.id, i);
      for (const f of ['pid.json', TASK_FILES.exit]) if (await exists(join(t, f))) return true;
    }
    return false;
  }

  /** Records the pids of launchers a dead gateway spawned but did not live to record. */
  private async _adopt(e: Entry): Promise<void> {
    for (let i = 0; i < e.tasks; i++) {
      const t = this._taskDir(e.id, i);
      if ((await exists(join(t, 'pid.json'))) || (await exists(join(t, TASK_FILES.exit)))) continue;
      const [found] = await processesInDir(t, this._o.launcher);
      if (found) {
        await writeFile(join(t, 'pid.json'), JSON.stringify(found satisfies ProcessIdentity));
        this._o.log.warn({ job: e.id, task: i, pid: found.pid }, 'adopted a launcher started by a gateway that stopped before recording it');
      }
    }
  }

  /** Starts queued submissions, oldest first, while there is a free slot. Serialised. */
  private _pump(): Promise<void> {
    this._pumping = this._pumping.then(async () => {
      if (this._disposed) return;
      for (;;) {
        const running = [...this._entries.values()].filter(e => e.phase === 'running').length;
        if (running >= this._o.concurrency) return;
        const next = [...this._entries.values()].filter(e => e.phase === 'queued').sort((a, b) => a.submittedAt - b.submittedAt)[0];
        if (!next) return;
        next.phase = 'running';
        this._launching.add(next.id);
        try {
          await this._launch(next);
        } catch (err) {
          this._o.log.error({ err, job: next.id }, 'launch failed');
          await this._kill(next, 'SIGKILL');
          for (let i = 0; i < next.tasks; i++) {
            const f = join(this._taskDir(next.id, i), TASK_FILES.exit);
            if (!(await exists(f))) await writeFile(f, JSON.stringify({ exitCode: 1, phase: 'stage', message: `cannot start the launcher: ${(err as Error).message}` } satisfies ExitRecord));
          }
          next.phase = 'done';
          this._notify(next.id);
        } finally {
          this._launching.delete(next.id);
        }
      }
    });
    return this._pumping;
  }

  private async _launch(e: Entry): Promise<void> {
    const dir = this._dir(e.id);
    const file = (await readJson<SubmissionFile>(join(dir, 'spec.json')))!;
    const children: ChildProcess[] = [];
    this._children.set(e.id, children);
    for (let i = 0; i < e.tasks; i++) {
      const taskDir = this._taskDir(e.id, i);
      const log = await open(join(taskDir, TASK_FILES.log), 'a');
      let child: ChildProcess;
      try {
        child = spawn(this._o.nodePath ?? process.execPath, [this._o.launcher], {
          cwd: taskDir,
          detached: true,
          stdio: ['ignore', log.fd, log.fd],
          env: {
            ...launcherEnv(),
            ...file.env,
            [LAUNCHER_ENV.apiFile]: join(this._o.dir, SUBMISSION_FILES.apiUrl),
            [LAUNCHER_ENV.dir]: dir,
            [LAUNCHER_ENV.taskIndex]: String(i),
            [LAUNCHER_ENV.tokenFile]: join(dir, SUBMISSION_FILES.token)
          }
        });
        await new Promise<void>((resolve, reject) => {
          child.once('spawn', resolve);
          child.once('error', reject);
        });
      } finally {
        await log.close();
      }
      children.push(child);
      const stat = await readStat(child.pid!);
      await writeFile(join(taskDir, 'pid.json'), JSON.stringify({ pid: child.pid!, startTime: stat?.startTime ?? '' } satisfies ProcessIdentity));
      child.unref();
      child.once('exit', (code, signal) => void this._onExit(e, i, code, signal));
    }
    this._o.log.info({ job: e.id, tasks: e.tasks }, 'started');
  }

  private async _onExit(e: Entry, task: number, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    const f = join(this._taskDir(e.id, task), TASK_FILES.exit);
    if (!(await exists(f))) {
      // The launcher died before writing its record (killed, out of memory).
      const message = signal ? `the launcher was killed by ${signal}` : `the launcher exited with code ${code} without a record`;
      await writeFile(f, JSON.stringify({ exitCode: code ?? 137, phase: 'run', message } satisfies ExitRecord)).catch(() => undefined);
    }
    if ((await this._alive(e)).length === 0 && e.phase === 'running') {
      e.phase = 'done';
      this._children.delete(e.id);
      void this._pump();
    }
    this._notify(e.id);
  }

  private _notify(id: string): void {
    for (const l of this._listeners) l(id);
  }

  private async _alive(e: Entry): Promise<ProcessIdentity[]> {
    const out: ProcessIdentity[] = [];
    for (let i = 0; i < e.tasks; i++) {
      const pid = await readJson<ProcessIdentity>(join(this._taskDir(e.id, i), 'pid.json'));
      if (pid && (await isAlive(pid))) out.push(pid);
    }
    return out;
  }

  private async _kill(e: Entry, signal: NodeJS.Signals): Promise<void> {
    for (const p of await this._alive(e)) {
      try {
        process.kill(-p.pid, signal);
      } catch {
        /* already gone */
      }
    }
  }
}

function isLocalHandle(h: SchedulerHandle): h is LocalHandle {
  return h.v === 1 && h.kind === 'local' && typeof h.id === 'string';
}

const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));
