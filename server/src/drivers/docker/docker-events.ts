/**
 * A cache of our containers' run state fed by the Docker events stream (list, then watch:
 * KubeSpawner's reflector). `poll()` reads it instead of inspecting every container, and a
 * container that dies outside the gateway (`docker kill`, OOM, a crash) is reported to the
 * listeners within moments.
 *
 * #### Notes
 * - On a stream error the watcher reconnects with capped, jittered backoff, resuming `since`
 *   the last event it saw, and re-lists; until then `synced` is false and callers inspect.
 * - The cache only ever answers "running" with confidence; callers confirm "not running" with
 *   an inspect, so a lost event can delay noticing a death but never invent one.
 */
import type Docker from 'dockerode';
import type { Readable } from 'node:stream';
import type { Logger } from '../../logger';

/** What the cache knows of one of our containers. */
export interface ContainerView {
  containerId: string;
  instanceId: string;
  running: boolean;
  exitCode?: number;
  oomKilled?: boolean;
}

interface DockerEvent {
  Type?: string;
  Action?: string;
  time?: number;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

/** The events-fed cache; `start()` lists and subscribes, `dispose()` unsubscribes (idempotent). */
export class ContainerWatcher {
  private readonly _byContainer = new Map<string, ContainerView>();
  private readonly _listeners = new Set<(instanceId: string) => void>();
  private _stream: Readable | null = null;
  private _since = 0;
  private _synced = false;
  private _disposed = false;
  private _retry: NodeJS.Timeout | null = null;
  private _backoffMs = 250;

  constructor(
    private readonly _docker: Docker,
    private readonly _o: { labels: string[]; log: Logger }
  ) {}

  /** True while the list + stream are live: cache misses then mean "no such container". */
  get synced(): boolean {
    return this._synced;
  }

  /** Lists current containers and subscribes to events; resolves once the first list is in. */
  async start(): Promise<void> {
    await this._connect();
  }

  get(containerId: string): ContainerView | undefined {
    return this._byContainer.get(containerId);
  }

  /** Records what an inspect just saw (after our own start), so the cache agrees at once. */
  record(view: ContainerView): void {
    this._byContainer.set(view.containerId, view);
  }

  onExit(listener: (instanceId: string) => void): () => void {
    this._listeners.add(listener);
    return () => this._listeners.delete(listener);
  }

  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    if (this._retry) clearTimeout(this._retry);
    this._stream?.destroy();
    this._stream = null;
    this._listeners.clear();
  }

  private async _connect(): Promise<void> {
    const filters = { type: ['container' as const], label: this._o.labels, event: ['start', 'die', 'destroy', 'oom'] };
    const now = Math.floor(Date.now() / 1000);
    // Subscribe first, then list: an event between the two is applied after the list, not lost.
    const stream = (await this._docker.getEvents({ filters, ...(this._since ? { since: this._since } : {}) })) as unknown as Readable;
    if (this._disposed) {
      stream.destroy();
      return;
    }
    this._stream = stream;
    const buffered: DockerEvent[] = [];
    let listed = false;
    let pending = '';
    stream.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (!line) continue;
        try {
          const ev = JSON.parse(line) as DockerEvent;
          if (listed) this._apply(ev);
          else buffered.push(ev);
        } catch {
          /* a partial line is completed by the next chunk */
        }
      }
    });
    const lost = (why: string): void => {
      if (this._stream !== stream) return;
      this._stream = null;
      this._reconnect(why);
    };
    stream.once('error', err => lost(err.message));
    stream.once('end', () => lost('stream ended'));
    stream.once('close', () => lost('stream closed'));

    let containers: Docker.ContainerInfo[];
    try {
      containers = await this._docker.listContainers({ all: true, filters: { label: this._o.labels } });
    } catch (err) {
      // A daemon half back: drop this stream so the retry does not leave two subscribed.
      if (this._stream === stream) this._stream = null;
      stream.destroy();
      throw err;
    }
    this._byContainer.clear();
    for (const c of containers) {
      const instanceId = c.Labels?.['nbgateway.instance'];
      if (!instanceId) continue;
      this._byContainer.set(c.Id, { containerId: c.Id, instanceId, running: c.State === 'running' });
    }
    listed = true;
    for (const ev of buffered) this._apply(ev);
    this._since = Math.max(this._since, now);
    this._synced = true;
    this._backoffMs = 250;
  }

  /**
   * Tries to connect again after a capped, jittered backoff, for as long as it takes: dockerd
   * may be down for minutes (a restart, an upgrade), and each failed try schedules the next.
   */
  private _reconnect(why: string): void {
    this._synced = false;
    if (this._disposed || this._retry) return;
    const delay = this._backoffMs * (0.8 + Math.random() * 0.4);
    this._backoffMs = Math.min(this._backoffMs * 2, 10_000);
    this._o.log.warn({ why, retryMs: Math.round(delay) }, 'docker events stream lost; reconnecting');
    this._retry = setTimeout(() => {
      this._retry = null;
      void this._connect().catch(err => this._reconnect(`reconnect failed: ${(err as Error).message}`));
    }, delay);
    this._retry.unref();
  }

  private _apply(ev: DockerEvent): void {
    const id = ev.Actor?.ID;
    const attrs = ev.Actor?.Attributes ?? {};
    const instanceId = attrs['nbgateway.instance'];
    if (!id || !instanceId) return;
    if (ev.time) this._since = Math.max(this._since, ev.time);
    const view = this._byContainer.get(id) ?? { containerId: id, instanceId, running: false };
    switch (ev.Action) {
      case 'start':
        this._byContainer.set(id, { containerId: id, instanceId, running: true });
        return;
      case 'oom':
        this._byContainer.set(id, { ...view, oomKilled: true });
        return;
      case 'die':
        this._byContainer.set(id, { ...view, running: false, exitCode: Number(attrs.exitCode ?? NaN) });
        break;
      case 'destroy':
        this._byContainer.delete(id);
        break;
      default:
        return;
    }
    for (const l of this._listeners) l(instanceId);
  }
}
