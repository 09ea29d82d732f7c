import { Signal, type ISignal } from '@lumino/signaling';
import type { IDisposable } from '@lumino/disposable';
import { gatewayRequest, leaseExpiry, type IGatewayFlavor, type IGatewayImage, type IGatewayInstance, type IInstanceInfo } from '@nbgateway/lab-services';

/** Polls the gateway for this lab's instance and performs its operations. */
export class InstanceModel implements IDisposable {
  private _instance: IGatewayInstance | null = null;
  private _error: string | null = null;
  private _timer: ReturnType<typeof setInterval> | null = null;
  private _disposed = false;
  private readonly _changed = new Signal<this, void>(this);

  constructor(readonly info: IInstanceInfo) {}

  /** Emitted when the instance (or the last error) changes. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get instance(): IGatewayInstance | null {
    return this._instance;
  }

  get error(): string | null {
    return this._error;
  }

  get leaseExpiresAt(): number | null {
    return this._instance ? leaseExpiry(this._instance) : null;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  can(op: string): boolean {
    return (this._instance?.allowedOperations as string[] | undefined)?.includes(op) ?? false;
  }

  async refresh(): Promise<void> {
    try {
      this._instance = await gatewayRequest<IGatewayInstance>(this.info.apiUrl, 'GET', `notebooks/${encodeURIComponent(this.info.id)}`);
      this._error = null;
    } catch (err) {
      this._error = (err as Error).message;
    }
    this._changed.emit();
  }

  /** Polls every 15 s (the countdown itself ticks in the widgets). */
  startPolling(ms = 15_000): void {
    if (this._timer) return;
    this._timer = setInterval(() => void this.refresh(), ms);
  }

  /** Restarts the TIMING period (SPEC §6); the answer is the lease, so the instance is re-read. */
  async renew(): Promise<void> {
    await gatewayRequest<unknown>(this.info.apiUrl, 'POST', `notebooks/${encodeURIComponent(this.info.id)}/lease/renew`, {});
    await this.refresh();
  }

  async stop(): Promise<void> {
    this._instance = await gatewayRequest<IGatewayInstance>(this.info.apiUrl, 'POST', `notebooks/${encodeURIComponent(this.info.id)}/stop`);
    this._changed.emit();
  }

  /**
   * Chooses the flavor of the next start (SPEC §4). The gateway applies it at once when the
   * instance is stopped, else at its next start; the instance keeps running meanwhile.
   */
  async setFlavor(flavor: string): Promise<void> {
    this._instance = await gatewayRequest<IGatewayInstance>(this.info.apiUrl, 'PATCH', `notebooks/${encodeURIComponent(this.info.id)}`, { nextFlavor: flavor });
    this._changed.emit();
  }

  /** Waits (polling) until the instance reaches `status`; false after `timeoutMs`. */
  async waitFor(status: string, timeoutMs = 120_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      await this.refresh();
      if (this._instance?.status === status) return true;
      await new Promise(r => setTimeout(r, 1500));
    }
    return false;
  }

  /** Flavors the instance's image can use (its chips). */
  async flavorChoices(): Promise<IGatewayFlavor[]> {
    const [images, flavors] = await Promise.all([
      gatewayRequest<{ items: IGatewayImage[] }>(this.info.apiUrl, 'GET', 'images'),
      gatewayRequest<{ items: IGatewayFlavor[] }>(this.info.apiUrl, 'GET', 'flavors')
    ]);
    const chips = images.items.find(i => i.name === this._instance?.image)?.chips;
    return flavors.items.filter(f => !chips || chips.includes(f.chip));
  }

  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    if (this._timer) clearInterval(this._timer);
    Signal.clearData(this);
  }
}
