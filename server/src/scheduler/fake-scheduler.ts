/**
 * An in-memory scheduler for unit tests of the job manager (STYLE.md §8): submissions are
 * recorded and stay where the test puts them (`set`), so every state path can be driven
 * without processes.
 */
import { SchedulerFullError, type ISchedulerAdapter, type LaunchSpec, type LogChunk, type SchedulerHandle, type SchedulerStatus } from './scheduler';

interface FakeSubmission {
  spec: LaunchSpec;
  status: SchedulerStatus;
  log: string;
  canceled: boolean;
  removed: boolean;
}

export class FakeScheduler implements ISchedulerAdapter {
  readonly kind = 'fake';
  readonly submissions = new Map<string, FakeSubmission>();
  /** When set, `submit` refuses with this reason. */
  fullReason: string | null = null;
  /** When set, `submit` throws this. */
  submitError: Error | null = null;
  /** When set, `submit` waits for it (holds a version in INITIALIZING). */
  submitGate: Promise<void> | null = null;
  private readonly _listeners = new Set<(id: string) => void>();

  async submit(spec: LaunchSpec): Promise<SchedulerHandle> {
    if (this.submitGate) await this.submitGate;
    if (this.submitError) throw this.submitError;
    if (this.fullReason) throw new SchedulerFullError(this.fullReason);
    if (!this.submissions.has(spec.id)) this.submissions.set(spec.id, { spec, status: { state: 'queued' }, log: '', canceled: false, removed: false });
    return { v: 1, kind: 'fake', id: spec.id };
  }

  async status(handle: SchedulerHandle): Promise<SchedulerStatus> {
    const s = this.submissions.get(String(handle.id));
    if (!s || s.removed) return { state: 'unknown', reason: 'no such submission' };
    return s.status;
  }

  async cancel(handle: SchedulerHandle): Promise<void> {
    const s = this.submissions.get(String(handle.id));
    if (!s || ['succeeded', 'failed', 'canceled'].includes(s.status.state)) return;
    s.canceled = true;
    s.status = { state: 'canceled' };
  }

  async logs(handle: SchedulerHandle, opts: { task: number; offset?: number; limit?: number }): Promise<LogChunk> {
    const text = Buffer.from(this.submissions.get(String(handle.id))?.log ?? '');
    const start = Math.min(opts.offset ?? 0, text.length);
    const end = Math.min(text.length, start + (opts.limit ?? text.length));
    return { text: text.subarray(start, end).toString(), nextOffset: end, size: text.length };
  }

  async remove(handle: SchedulerHandle): Promise<void> {
    const s = this.submissions.get(String(handle.id));
    if (s) s.removed = true;
  }

  /** The last URL published to launchers. */
  apiUrl: string | null = null;

  async publishApiUrl(url: string): Promise<void> {
    this.apiUrl = url;
  }

  async full(): Promise<string | null> {
    return this.fullReason;
  }

  watch(listener: (id: string) => void): () => void {
    this._listeners.add(listener);
    return () => this._listeners.delete(listener);
  }

  /** Moves a submission to a state and tells watchers, as a real scheduler would. */
  set(id: string, status: SchedulerStatus, log?: string): void {
    const s = this.submissions.get(id);
    if (!s) throw new Error(`no submission ${id}`);
    s.status = status;
    if (log !== undefined) s.log += log;
    for (const l of this._listeners) l(id);
  }

  async dispose(): Promise<void> {
    this._listeners.clear();
  }
}
