/**
 * The instance's activity: when something last happened, how many clients are connected,
 * and whether work is in progress. It feeds `/api/status` and the gateway's idle auto-stop
 * through `api/nbg/activity` (docs/architecture.md, "Activity feed").
 *
 * #### Notes
 * - Areas report events with `touch()` (kernel messages in either direction, terminal input
 *   and output, HTTP requests that are not timer-driven reads) and register an
 *   `IActivitySource` for what they hold open (WebSockets, SSH channels) and for work in
 *   progress (a busy kernel), so a cell that runs silently for hours is never idle.
 * - `touch()` is on the hot path of every kernel message: it stores a number, nothing more.
 */
import type { IDisposable } from '../../../../server/src/lifecycle';

/** Something that holds connections or work open (kernels, terminals, SSH channels). */
export interface IActivitySource {
  /** Open client connections it holds right now. */
  connections(): number;
  /** True while work is going on that must keep the instance up even when silent. */
  busy?(): boolean;
}

export class ActivityTracker {
  private _last: number;
  private readonly _sources = new Set<IActivitySource>();

  /** @param started - the gateway's start time: the activity baseline. */
  constructor(readonly started: Date = new Date()) {
    this._last = started.getTime();
  }

  /** Records activity now (or at `at`, when later than what is known). */
  touch(at: number = Date.now()): void {
    if (at > this._last) this._last = at;
  }

  /** The latest activity. */
  get lastActivity(): Date {
    return new Date(this._last);
  }

  /** Adds a source; dispose the result to remove it. */
  addSource(source: IActivitySource): IDisposable {
    this._sources.add(source);
    return { dispose: () => void this._sources.delete(source) };
  }

  /** Open connections across all sources. */
  connections(): number {
    let n = 0;
    for (const s of this._sources) n += s.connections();
    return n;
  }

  /** Whether any source reports work in progress. */
  busy(): boolean {
    for (const s of this._sources) if (s.busy?.()) return true;
    return false;
  }
}
