/**
 * In-memory runtime drivers for tests of the manager's timeout and error paths (STYLE.md §8,
 * JupyterHub's `mocking.py`): FakeDriver starts instantly; `slow`, `never` and `failing`
 * variants delay, hang until aborted, or fail.
 */
import type { Flavor } from '../../catalogue/flavors';
import type { ImageEntry } from '../../catalogue/images';
import { SpawnError, type DriverState, type IRuntimeDriver, type InstanceSpec, type RuntimeStatus, type StartOptions, type StartResult } from '../driver';

export interface FakeDriverOptions {
  /** Delay before a start resolves. */
  startDelayMs?: number;
  /** Start never resolves; only the abort signal ends it. */
  never?: boolean;
  /** Start fails with this message (a SpawnError). */
  failWith?: string;
  /** Endpoint reported for running instances. */
  endpoint?: { host: string; port: number };
}

interface FakeState extends DriverState {
  v: 1;
  kind: 'fake';
  id: string;
  generation: number;
}

export class FakeDriver implements IRuntimeDriver {
  readonly kind = 'fake';
  /** Instance ids currently running. */
  readonly running = new Map<string, number>();
  /** Instance ids whose storage exists. */
  readonly storage = new Set<string>();
  readonly calls: string[] = [];
  /** What each start was given, in order. */
  readonly specs: InstanceSpec[] = [];
  private _generation = 0;
  private readonly _listeners = new Set<(id: string) => void>();

  constructor(private readonly _o: FakeDriverOptions = {}) {}

  static slow(ms: number): FakeDriver {
    return new FakeDriver({ startDelayMs: ms });
  }

  static never(): FakeDriver {
    return new FakeDriver({ never: true });
  }

  static failing(message = 'no capacity'): FakeDriver {
    return new FakeDriver({ failWith: message });
  }

  unsupported(_image: ImageEntry, flavor: Flavor): string | null {
    return flavor.chip === 'ascend' ? 'the fake runtime has no NPUs' : null;
  }

  async start(spec: InstanceSpec, _previous: DriverState | null, opts: StartOptions): Promise<StartResult> {
    this.calls.push(`start:${spec.id}`);
    this.specs.push(spec);
    opts.onProgress?.({ progress: 50, step: 'container', message: 'fake container' });
    if (this._o.never) {
      await new Promise((_, reject) => opts.signal.addEventListener('abort', () => reject(opts.signal.reason)));
    }
    if (this._o.startDelayMs) await abortableSleep(this._o.startDelayMs, opts.signal);
    if (this._o.failWith) throw new SpawnError(this._o.failWith, { reason: 'fake' });
    const generation = ++this._generation;
    this.running.set(spec.id, generation);
    this.storage.add(spec.id);
    opts.onProgress?.({ progress: 100, step: 'ready', message: 'ready' });
    const state: FakeState = { v: 1, kind: 'fake', id: spec.id, generation };
    return { endpoint: this._o.endpoint ?? { host: '127.0.0.1', port: 9 }, state };
  }

  async poll(state: DriverState): Promise<RuntimeStatus> {
    const s = state as FakeState;
    return s.kind === 'fake' && this.running.get(s.id) === s.generation
      ? { running: true, endpoint: this._o.endpoint ?? { host: '127.0.0.1', port: 9 } }
      : { running: false, reason: 'fake instance is not running' };
  }

  async stop(state: DriverState): Promise<void> {
    const s = state as FakeState;
    this.calls.push(`stop:${s.id}`);
    this.running.delete(s.id);
  }

  async remove(state: DriverState | null, spec: Pick<InstanceSpec, 'id'>): Promise<void> {
    this.calls.push(`remove:${spec.id}`);
    if (state) this.running.delete(spec.id);
  }

  /** One line per start and stop of the instance, as an agent would log them. */
  async output(_state: DriverState | null, spec: Pick<InstanceSpec, 'id'>, lines: number): Promise<string> {
    const mine = this.calls.filter(c => c.endsWith(`:${spec.id}`)).map(c => `fake agent: ${c.split(':')[0]}\n`);
    return mine.slice(-lines).join('');
  }

  async purgeStorage(spec: Pick<InstanceSpec, 'id'>): Promise<void> {
    this.calls.push(`purge:${spec.id}`);
    this.storage.delete(spec.id);
  }

  /** Simulates an instance dying outside the gateway. */
  kill(id: string): void {
    this.running.delete(id);
    for (const l of this._listeners) l(id);
  }

  watch(listener: (id: string) => void): () => void {
    this._listeners.add(listener);
    return () => this._listeners.delete(listener);
  }

  async dispose(): Promise<void> {
    this._listeners.clear();
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason);
    }, { once: true });
  });
}
