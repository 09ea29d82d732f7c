/**
 * Every Prometheus metric the gateway exports, in one place (STYLE.md §16), behind a small
 * interface that other areas call: SSH sessions, sync bytes, the jobs-by-state source.
 *
 * | Metric | Type | Labels |
 * |---|---|---|
 * | `nbg_instances` | gauge (read from the database at scrape) | `state` |
 * | `nbg_instance_start_seconds` | histogram | `driver`, `outcome` (success, failure) |
 * | `nbg_proxy_requests_total` | counter | `code` (HTTP status) |
 * | `nbg_proxy_websockets_open` | gauge | |
 * | `nbg_ssh_sessions_open` / `nbg_ssh_sessions_total` | gauge / counter | |
 * | `nbg_sync_bytes_total` | counter | `direction` (pull, push) |
 * | `nbg_jobs` | gauge (from the jobs area's source at scrape) | `state` |
 * | `nbg_process_*`, `nbg_nodejs_*` | prom-client defaults | |
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ISqlDatabase } from '../db/database';
import { INSTANCE_STATUSES } from '../instances/instance';

export type SyncDirection = 'pull' | 'push';

/** Counts what happens; the seam other areas record through (`app.metrics`, `ctx.metrics`). */
export interface IMetrics {
  instanceStarted(driver: string, outcome: 'success' | 'failure', seconds: number): void;
  proxyRequest(statusCode: number): void;
  sshSessionOpened(): void;
  sshSessionClosed(): void;
  syncBytes(direction: SyncDirection, bytes: number): void;
  /** Where open proxied WebSockets are counted (read at scrape). */
  setWebSocketSource(count: () => number): void;
  /** Jobs per state (read at scrape); the jobs area registers it. */
  setJobsSource(counts: () => Promise<Record<string, number>>): void;
  /** The exposition text (`text/plain; version=0.0.4`). */
  render(): Promise<{ contentType: string; body: string }>;
}

export class PrometheusMetrics implements IMetrics {
  readonly registry = new Registry();
  private readonly _start: Histogram<'driver' | 'outcome'>;
  private readonly _proxy: Counter<'code'>;
  private readonly _sshOpen: Gauge;
  private readonly _sshTotal: Counter;
  private readonly _sync: Counter<'direction'>;
  private _ws: () => number = () => 0;
  private _jobs: (() => Promise<Record<string, number>>) | null = null;

  constructor(db: ISqlDatabase) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'nbg_' });
    new Gauge({
      name: 'nbg_instances', help: 'Notebook instances by state (not deleted), from the database', labelNames: ['state'], registers,
      async collect() {
        const rows = await db.all<{ status: string; n: number }>('SELECT status, COUNT(*) AS n FROM instances WHERE deleted_at IS NULL GROUP BY status');
        const by = new Map(rows.map(r => [r.status, Number(r.n)]));
        for (const s of INSTANCE_STATUSES) this.set({ state: s }, by.get(s) ?? 0);
      }
    });
    this._start = new Histogram({
      name: 'nbg_instance_start_seconds', help: 'Time from start request to a running agent (or to the failure)', labelNames: ['driver', 'outcome'],
      buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300], registers
    });
    this._proxy = new Counter({ name: 'nbg_proxy_requests_total', help: 'HTTP requests to instances through the proxy, by status', labelNames: ['code'], registers });
    const ws = (): number => this._ws();
    new Gauge({ name: 'nbg_proxy_websockets_open', help: 'Open WebSockets proxied to instances', registers, collect() { this.set(ws()); } });
    this._sshOpen = new Gauge({ name: 'nbg_ssh_sessions_open', help: 'Open SSH sessions', registers });
    this._sshTotal = new Counter({ name: 'nbg_ssh_sessions_total', help: 'SSH sessions opened', registers });
    this._sync = new Counter({ name: 'nbg_sync_bytes_total', help: 'Bytes copied between object storage and instances', labelNames: ['direction'], registers });
    const jobs = (): (() => Promise<Record<string, number>>) | null => this._jobs;
    new Gauge({
      name: 'nbg_jobs', help: 'Training jobs by state', labelNames: ['state'], registers,
      async collect() {
        const source = jobs();
        if (!source) return;
        this.reset();
        for (const [state, n] of Object.entries(await source())) this.set({ state }, n);
      }
    });
  }

  instanceStarted(driver: string, outcome: 'success' | 'failure', seconds: number): void {
    this._start.observe({ driver, outcome }, seconds);
  }

  proxyRequest(statusCode: number): void {
    this._proxy.inc({ code: String(statusCode) });
  }

  sshSessionOpened(): void {
    this._sshOpen.inc();
    this._sshTotal.inc();
  }

  sshSessionClosed(): void {
    this._sshOpen.dec();
  }

  syncBytes(direction: SyncDirection, bytes: number): void {
    if (bytes > 0) this._sync.inc({ direction }, bytes);
  }

  setWebSocketSource(count: () => number): void {
    this._ws = count;
  }

  setJobsSource(counts: () => Promise<Record<string, number>>): void {
    this._jobs = counts;
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** Counts nothing (metrics turned off; unit tests of other modules). */
export class NoopMetrics implements IMetrics {
  instanceStarted(): void {}
  proxyRequest(): void {}
  sshSessionOpened(): void {}
  sshSessionClosed(): void {}
  syncBytes(): void {}
  setWebSocketSource(): void {}
  setJobsSource(): void {}
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: 'text/plain; version=0.0.4; charset=utf-8', body: '' };
  }
}
