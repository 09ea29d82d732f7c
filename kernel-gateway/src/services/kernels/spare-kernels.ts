/**
 * Spare kernels: kernels of the default kernelspec started ahead of time, so that the first
 * `POST api/kernels` (or new session) does not wait for Python to import ipykernel and
 * IPython (~0.75 s on a quiet machine, several seconds on a loaded one). Python's
 * jupyter_kernel_gateway does the same with `prespawn_count`.
 *
 * #### Notes
 * - A spare is nobody's until it is handed out: it is not in the kernel list, counts, activity
 *   or execution state (the manager keeps it out of all of them), so it never keeps an
 *   instance from being stopped for idleness.
 * - Spares start one at a time, and the one taken is replaced `REFILL_DELAY_MS` later, and not
 *   while a user's kernel is busy (for up to `MAX_DEFER_MS`), so the replacement's start does not
 *   compete for CPU with the first cells of the kernel just taken.
 * - A spare that dies or never becomes ready is replaced after a backoff (1, 2, 4, 8 s); after
 *   `MAX_FAILURES` failures within `FAILURE_WINDOW_MS` the pool stops until a kernel of the
 *   default spec starts normally (`revive()`): a kernel that keeps dying, or is killed for
 *   memory, must not be restarted forever.
 */
import type { IDisposable } from '../../../../server/src/lifecycle';
import type { Logger } from '../../logger';
import type { KernelSpecEntry } from '../kernelspecs/manager';
import type { Kernel } from './kernel';

export interface SpareKernelsOptions {
  /** How many spares to keep (0: none). */
  count: number;
  /** The kernelspec spares are made of (the default one), undefined when there is none. */
  spec: () => Promise<KernelSpecEntry | undefined>;
  /**
   * Builds a kernel of `spec` that nothing else knows about, started in the root directory with
   * no request environment; `onDied` must become its `KernelOptions.onDied`.
   */
  create: (spec: KernelSpecEntry, onDied: (kernel: Kernel) => boolean) => Promise<Kernel>;
  /** Whether a user's kernel is running code: a spare then waits (up to `MAX_DEFER_MS`) before starting. */
  busy: () => boolean;
  /** Longest wait for a spare's readiness and first `kernel_info_reply`. */
  startTimeoutMs: number;
  log: Logger;
}

/** A spare between its launch and the end of its hand-out. */
export interface Spare {
  readonly kernel: Kernel;
  readonly spec: KernelSpecEntry;
  /** When its process was started (ms since the epoch): files changed later are news to it. */
  readonly launchedAt: number;
}

interface Entry extends Spare {
  ready: boolean;
  /** Promised to a `take()` (waiting for readiness, or being handed out). */
  claimed: boolean;
  /** The process start under way: a shutdown waits for it, or the process would outlive it. */
  started: Promise<unknown>;
  /** Resolves true once ready, false when it failed or was discarded first. */
  whenReady: Promise<boolean>;
  settle: (ready: boolean) => void;
}

const REFILL_DELAY_MS = 3_000;
const MAX_FAILURES = 5;
const FAILURE_WINDOW_MS = 10 * 60_000;
const FIRST_BACKOFF_MS = 1_000;
const DEFER_STEP_MS = 1_000;
const MAX_DEFER_MS = 30_000;
/** How long a take may wait for a spare still starting before any start time was observed. */
const DEFAULT_START_ESTIMATE_MS = 10_000;

export class SpareKernels implements IDisposable {
  private readonly _entries = new Set<Entry>();
  private readonly _stopping = new Set<Promise<void>>();
  private _failures: number[] = [];
  private _givenUp = false;
  private _launching = false;
  /** Set while the next spare is being created, until it is in `_entries`. */
  private _preparing: Promise<void> | null = null;
  private _timer: NodeJS.Timeout | null = null;
  /** Since when the next start has been put off because the user's code was running. */
  private _deferredSince: number | null = null;
  private _disposed = false;
  /** How long the last spare took from launch to its first kernel_info_reply. */
  private _startMs: number | undefined;

  constructor(private readonly _o: SpareKernelsOptions) {}

  /** Spares ready to be handed out now. */
  get readyCount(): number {
    return [...this._entries].filter(e => e.ready && !e.claimed).length;
  }

  /** Starts keeping spares, in the background. */
  start(): void {
    if (this._o.count > 0) void this._fill();
  }

  /**
   * Claims a spare of `spec` for a hand-out: a ready one, else one still starting if it gets
   * ready within the time a fresh start would take (the last observed start). The caller then
   * calls `handedOut()` or `discard()`.
   * @returns null when there is none to have.
   */
  async take(spec: KernelSpecEntry): Promise<Spare | null> {
    if (this._disposed || this._o.count === 0) return null;
    // A spare whose process is about to be spawned is still worth waiting for.
    if (this._preparing) await this._preparing;
    const named = [...this._entries].filter(e => !e.claimed && e.spec.name === spec.name);
    // The kernelspec was edited since the spare started: a fresh start would run the new one.
    const changed = named.filter(x => !sameSpec(x.spec, spec));
    for (const e of changed) this._drop(e, 'its kernelspec changed');
    if (changed.length > 0) this._schedule(REFILL_DELAY_MS);
    const candidates = named.filter(e => this._entries.has(e));
    const e = candidates.find(x => x.ready) ?? candidates[0];
    if (!e) return null;
    e.claimed = true;
    if (!e.ready) {
      const waitMs = Math.min(this._startMs ?? DEFAULT_START_ESTIMATE_MS, this._o.startTimeoutMs);
      let timer: NodeJS.Timeout | undefined;
      const ready = await Promise.race([e.whenReady, new Promise<false>(r => (timer = setTimeout(() => r(false), waitMs)))]);
      clearTimeout(timer);
      if (!ready || !this._entries.has(e)) {
        e.claimed = false;
        return null;
      }
    }
    return e;
  }

  /** The spare now belongs to the caller; another is started a little later. */
  handedOut(spare: Spare): void {
    const e = this._entry(spare);
    if (!e) return;
    this._entries.delete(e);
    this._failures = [];
    this._schedule(REFILL_DELAY_MS);
  }

  /** The spare could not be handed out: it is shut down and replaced a little later. */
  discard(spare: Spare, reason: string): void {
    const e = this._entry(spare);
    if (e) this._drop(e, reason);
    this._schedule(REFILL_DELAY_MS);
  }

  /** A kernel of the default spec started normally: spares are worth trying again. */
  revive(): void {
    if (!this._givenUp) return;
    this._givenUp = false;
    this._failures = [];
    this._o.log.info('trying spare kernels again');
    this._schedule(0);
  }

  /** Stops starting spares and shuts down the ones not handed out. Idempotent. */
  async dispose(): Promise<void> {
    if (this._disposed) return;
    this._disposed = true;
    if (this._timer) clearTimeout(this._timer);
    this._timer = null;
    // Those being handed out belong to the manager's start, which it waits for.
    const ours = [...this._entries].filter(e => !e.claimed || !e.ready);
    for (const e of ours) {
      this._entries.delete(e);
      e.settle(false);
    }
    for (const e of ours) this._stop(e);
    await this.stopped();
  }

  /** Resolves once every spare this pool let go of has exited. */
  async stopped(): Promise<void> {
    await Promise.allSettled([...this._stopping]);
  }

  private _stop(e: Pick<Entry, 'kernel' | 'started'>): void {
    const p = e.started
      .catch(() => undefined)
      .then(() => e.kernel.shutdown())
      .catch(err => this._o.log.warn('spare kernel did not shut down cleanly', { err }));
    this._stopping.add(p);
    void p.finally(() => this._stopping.delete(p));
  }

  private _entry(spare: Spare): Entry | undefined {
    for (const e of this._entries) if (e.kernel === spare.kernel) return e;
    return undefined;
  }

  private _schedule(delayMs: number): void {
    if (this._disposed || this._givenUp || this._timer || this._o.count === 0) return;
    this._timer = setTimeout(() => {
      this._timer = null;
      void this._fill();
    }, delayMs);
    this._timer.unref();
  }

  /** Starts one spare when fewer than `count` are kept; the next one once it is ready. */
  private async _fill(): Promise<void> {
    if (this._disposed || this._givenUp || this._launching || this._entries.size >= this._o.count) return;
    // A Python start takes a CPU for ~0.75 s: not while the user's first cells run, unless they run for long.
    if (this._o.busy()) {
      this._deferredSince ??= Date.now();
      if (Date.now() - this._deferredSince < MAX_DEFER_MS) {
        this._schedule(DEFER_STEP_MS);
        return;
      }
    }
    this._deferredSince = null;
    this._launching = true;
    let resolve!: () => void;
    this._preparing = new Promise<void>(r => (resolve = r));
    const prepared = (): void => {
      this._preparing = null;
      resolve();
    };
    try {
      const spec = await this._o.spec().catch(() => undefined);
      if (!spec) {
        this._o.log.info('no kernelspec to keep a spare kernel of');
        return;
      }
      if (await this._launch(spec, prepared)) this._schedule(0);
    } finally {
      prepared();
      this._launching = false;
    }
  }

  /** Starts one spare; `prepared` is called once it is in `_entries` (or will not be). */
  private async _launch(spec: KernelSpecEntry, prepared: () => void): Promise<boolean> {
    const launchedAt = Date.now();
    let settle!: (ready: boolean) => void;
    const whenReady = new Promise<boolean>(r => (settle = r));
    let kernel: Kernel;
    try {
      kernel = await this._o.create(spec, k => this._onDied(k));
    } catch (err) {
      this._failed(null, `cannot create it: ${(err as Error).message}`);
      return false;
    }
    if (this._disposed) {
      this._stop({ kernel, started: Promise.resolve() });
      return false;
    }
    const e: Entry = { kernel, spec, launchedAt, ready: false, claimed: false, started: kernel.start(), whenReady, settle };
    this._entries.add(e);
    prepared();
    try {
      await e.started;
      await kernel.ready;
      // Readiness is iopub flowing; the kernel_info_reply says the shell is serving too.
      if (!(await kernel.kernelInfo(this._o.startTimeoutMs))) throw new Error(`no kernel_info_reply within ${this._o.startTimeoutMs} ms`);
    } catch (err) {
      if (this._entries.has(e)) this._failed(e, (err as Error).message);
      settle(false);
      return false;
    }
    if (!this._entries.has(e)) {
      settle(false);
      return false;
    }
    e.ready = true;
    this._startMs = Date.now() - launchedAt;
    this._o.log.info('spare kernel ready', { kernel: kernel.id.slice(0, 8), name: spec.name, ms: this._startMs });
    settle(true);
    return true;
  }

  private _onDied(kernel: Kernel): boolean {
    const e = [...this._entries].find(x => x.kernel === kernel);
    if (!e) return false;
    // One being handed out fails its hand-out; the manager discards it.
    if (!e.claimed) this._failed(e, 'it died');
    return true;
  }

  private _drop(e: Entry, reason: string): void {
    this._entries.delete(e);
    e.settle(false);
    this._o.log.info('spare kernel discarded', { kernel: e.kernel.id.slice(0, 8), reason });
    this._stop(e);
  }

  private _failed(e: Entry | null, reason: string): void {
    if (e) {
      this._entries.delete(e);
      e.settle(false);
      this._stop(e);
    }
    if (this._disposed) return;
    const now = Date.now();
    this._failures = [...this._failures.filter(t => now - t < FAILURE_WINDOW_MS), now];
    if (this._failures.length >= MAX_FAILURES) {
      this._givenUp = true;
      this._o.log.error('spare kernels keep failing; none until a kernel starts normally', { reason, failures: this._failures.length });
      return;
    }
    const delayMs = FIRST_BACKOFF_MS * 2 ** (this._failures.length - 1);
    this._o.log.warn('spare kernel failed; starting another', { reason, inMs: delayMs });
    this._schedule(delayMs);
  }
}

function sameSpec(a: KernelSpecEntry, b: KernelSpecEntry): boolean {
  return a.dir === b.dir && JSON.stringify(a.spec) === JSON.stringify(b.spec);
}
