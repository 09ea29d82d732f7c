/**
 * InstanceManager: the instance lifecycle (SPEC §1). It owns concurrency and persistence;
 * the runtime driver owns mechanism (STYLE.md §7).
 *
 * #### Notes
 * - Every state change is a compare-and-set in the store, so concurrent requests (or
 *   replicas) cannot double-start or stop an instance twice; the loser gets a clear 409.
 * - Long operations (create, start, stop) run in the background; clients follow the state
 *   or the progress stream. `dispose()` waits for them with a deadline, and never stops
 *   instances: a restarted gateway reloads their state (JupyterHub's `load_state`).
 * - Transitional states left by a gateway that died are reconciled at boot against what the
 *   driver sees, so no instance stays CREATING or STARTING forever.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from '../logger';
import { Errors } from '../errors';
import type { Principal } from '../auth/principal';
import type { Flavor } from '../catalogue/flavors';
import { defaultFlavorFor } from '../catalogue/flavors';
import type { ImageEntry } from '../catalogue/images';
import type { ImageCatalogue } from '../images/image-catalogue';
import { SpawnError, type DriverState, type IRuntimeDriver, type InstanceSpec } from '../drivers/driver';
import type { InstanceRecord, InstanceStatus, OpenTarget, StartProgress } from './instance';
import type { InstanceStore } from './instance-store';
import { advice, allowedFrom, type Operation } from './state-machine';
import type { CreateInstanceRequest, UpdateInstanceRequest } from './validate';

export interface InstanceManagerOptions {
  store: InstanceStore;
  driver: IRuntimeDriver;
  /** Preset and custom images (async: custom images live in the database). */
  images: Pick<ImageCatalogue, 'resolve' | 'names'>;
  flavors: readonly Flavor[];
  quota: number;
  startTimeoutMs: number;
  pollIntervalMs: number;
  volumeRetentionDays: number;
  /** Identifies this gateway replica in the `pending` column. */
  replicaId: string;
  log: Logger;
  /**
   * Access policy (SPEC §9), asked for every operation after the tenancy check; see
   * `policy/access-control.ts`. Absent: the built-in roles only.
   */
  access?: { authorize(p: Principal, action: string, resource?: { service: 'notebook'; id: string; ownerId: string }): Promise<void> };
  /**
   * Spare kernels each instance's agent keeps started (`--kernel-prespawn`); null leaves it
   * to the agent (1) or the image (`ENV NBG_KG_KERNEL_PRESPAWN`).
   */
  kernelPrespawn?: number | null;
}

/**
 * Events: `progress` (id, ProgressEvent, run: the start's `StartProgress.run`), `statusChanged` (InstanceRecord), `startCompleted`
 * (id, 'success' | 'failure', seconds).
 */
export class InstanceManager extends EventEmitter {
  private readonly _inflight = new Map<string, Promise<void>>();
  private readonly _aborts = new Set<AbortController>();
  /** Starts this replica runs (or last ran), fresher than what the database has. */
  private readonly _progress = new Map<string, StartProgress>();
  private _pollTimer: NodeJS.Timeout | null = null;
  private _unwatch: (() => void) | null = null;
  private _disposed = false;

  constructor(private readonly _o: InstanceManagerOptions) {
    super();
  }

  get driver(): IRuntimeDriver {
    return this._o.driver;
  }

  /** Reconciles what a previous gateway left behind, then starts liveness polling. */
  async start(): Promise<void> {
    await this.reconcile({ boot: true });
    this._unwatch = this._o.driver.watch?.(id => void this._checkOne(id).catch(err => this._o.log.warn({ err, instance: id }, 'liveness check failed'))) ?? null;
    this._schedulePoll();
  }

  // ---- queries ---------------------------------------------------------------------------

  /** An instance the principal may see. @throws INSTANCE_NOT_FOUND (also for other users' ids), ACCESS_DENIED */
  async get(principal: Principal, id: string): Promise<InstanceRecord> {
    return this._find(principal, id, 'notebook:get');
  }

  /** Tenancy first (404 for other users' ids), then the access policy for `action`. */
  private async _find(principal: Principal, id: string, action: string): Promise<InstanceRecord> {
    const rec = await this._o.store.get(id);
    if (!rec || !canSee(principal, rec)) throw Errors.INSTANCE_NOT_FOUND(id);
    await this._o.access?.authorize(principal, action, { service: 'notebook', id: rec.id, ownerId: rec.ownerId });
    return rec;
  }

  async list(principal: Principal, opts: { limit: number; offset: number; all?: boolean }): Promise<{ items: InstanceRecord[]; total: number }> {
    await this._o.access?.authorize(principal, 'notebook:list');
    const everyone = principal.role === 'admin' && opts.all === true;
    return this._o.store.list({ ownerId: everyone ? undefined : principal.userId, limit: opts.limit, offset: opts.offset });
  }

  /**
   * The last `lines` lines its agent and kernels wrote, across starts ('' on a runtime that
   * keeps none, or before the first start).
   * @throws INSTANCE_NOT_FOUND
   */
  async output(principal: Principal, id: string, lines: number): Promise<string> {
    const rec = await this._find(principal, id, 'notebook:get');
    return (await this._o.driver.output?.(rec.driverState, { id: rec.id }, lines)) ?? '';
  }

  /**
   * Progress of the current or last start: this replica's own if it runs (or ran) the latest
   * start, else what the replica running it recorded in the database.
   */
  progressOf(rec: Pick<InstanceRecord, 'id' | 'startProgress'>): StartProgress {
    const mine = this._progress.get(rec.id);
    const recorded = rec.startProgress;
    if (mine && (!recorded || mine.run >= recorded.run)) return mine;
    return recorded ?? { run: 0, events: [] };
  }

  /**
   * Where to send traffic for an instance the principal opens.
   * @throws INSTANCE_NOT_FOUND, INSTANCE_STATE (not RUNNING)
   */
  async resolveOpen(principal: Principal, id: string): Promise<OpenTarget> {
    const rec = await this._find(principal, id, 'notebook:access');
    this._assertAllowed('open', rec);
    if (!rec.endpoint) throw Errors.INSTANCE_UNREACHABLE('no endpoint recorded');
    return { instanceId: rec.id, endpoint: rec.endpoint, agentToken: rec.agentToken, name: rec.name, ownerId: rec.ownerId };
  }

  // ---- commands --------------------------------------------------------------------------

  /**
   * Creates an instance and starts it in the background.
   * @returns the record in CREATING.
   */
  async create(principal: Principal, req: CreateInstanceRequest): Promise<InstanceRecord> {
    await this._o.access?.authorize(principal, 'notebook:create');
    const image = await this._image(principal, req.image, principal.userId);
    const flavor = this._flavor(req.flavor, image, principal);
    const problem = this._o.driver.unsupported?.(image, flavor);
    if (problem) throw Errors.DRIVER_UNSUPPORTED(this._o.driver.kind, problem);
    const now = Date.now();
    const rec: Omit<InstanceRecord, 'ownerName'> = {
      id: newInstanceId(),
      ownerId: principal.userId,
      name: req.name,
      description: req.description,
      image: image.name,
      flavor: flavor.id,
      nextFlavor: null,
      storageType: req.storage.type,
      storageSizeGB: req.storage.sizeGB,
      status: 'CREATING',
      statusReason: null,
      pending: this._o.replicaId,
      agentToken: randomBytes(32).toString('base64url'),
      driver: this._o.driver.kind,
      driverState: null,
      endpoint: null,
      createdAt: now,
      updatedAt: now,
      startedAt: null,
      deletedAt: null,
      startProgress: null
    };
    await this._o.store.insertWithinQuota(rec, this._o.quota);
    const created = (await this._o.store.get(rec.id))!;
    this._o.log.info({ instance: created.id, owner: principal.name, name: created.name }, 'created');
    this._run(created.id, () => this._start(created, 'CREATING'));
    return created;
  }

  /** Starts a STOPPED or ERROR instance in the background. */
  async startInstance(principal: Principal, id: string): Promise<InstanceRecord> {
    const rec = await this._find(principal, id, 'notebook:action');
    this._checkDriver(rec);
    // A flavor chosen for the next start takes effect now.
    const flavorChange = rec.nextFlavor ? { flavor: rec.nextFlavor, nextFlavor: null } : {};
    const next = await this._transition(rec, 'start', 'STARTING', { statusReason: null, pending: this._o.replicaId, ...flavorChange });
    this._run(id, () => this._start(next, 'STARTING'));
    return next;
  }

  /** Stops a RUNNING instance in the background. */
  async stopInstance(principal: Principal, id: string, reason: string | null = null): Promise<InstanceRecord> {
    const rec = await this._find(principal, id, 'notebook:action');
    const next = await this._transition(rec, 'stop', 'STOPPING', { statusReason: reason, pending: this._o.replicaId });
    this._run(id, () => this._stop(next));
    return next;
  }

  /**
   * Stops a RUNNING instance on the system's behalf (an auto-stop lease), with `reason` as
   * its status reason.
   * @returns the record in STOPPING, or undefined when it was no longer RUNNING (another
   *   replica or a user got there first): the caller must not audit a stop it did not make.
   */
  async stopBySystem(id: string, reason: string): Promise<InstanceRecord | undefined> {
    const next = await this._o.store.transition(id, ['RUNNING'], 'STOPPING', { statusReason: reason, pending: this._o.replicaId });
    if (!next) return undefined;
    this._run(id, () => this._stop(next));
    return next;
  }

  /** Deletes a STOPPED or ERROR instance; its `~/work` is kept for the retention period. */
  async deleteInstance(principal: Principal, id: string): Promise<void> {
    const rec = await this._find(principal, id, 'notebook:delete');
    const next = await this._transition(rec, 'delete', 'DELETING', { pending: this._o.replicaId });
    try {
      await this._o.driver.remove(next.driverState, { id });
    } catch (err) {
      await this._o.store.transition(id, ['DELETING'], 'ERROR', { statusReason: `delete failed: ${(err as Error).message}`, pending: null });
      throw err;
    }
    await this._o.store.markDeleted(id);
    this._progress.delete(id);
    this._o.log.info({ instance: id }, 'deleted');
  }

  /** Updates description (any time) and flavor (only when STOPPED). */
  async update(principal: Principal, id: string, req: UpdateInstanceRequest): Promise<InstanceRecord> {
    const rec = await this._find(principal, id, 'notebook:update');
    this._assertAllowed('update', rec);
    if (req.flavor !== undefined && req.flavor !== rec.flavor) {
      const flavor = this._flavor(req.flavor, await this._image(principal, rec.image, rec.ownerId), principal);
      await this._transition(rec, 'updateFlavor', 'STOPPED', { flavor: flavor.id, nextFlavor: null });
    }
    if (req.nextFlavor !== undefined) {
      const next = req.nextFlavor === null || req.nextFlavor === rec.flavor ? null : this._flavor(req.nextFlavor, await this._image(principal, rec.image, rec.ownerId), principal).id;
      if (next !== null && rec.status === 'STOPPED') await this._transition(rec, 'updateFlavor', 'STOPPED', { flavor: next, nextFlavor: null });
      else await this._o.store.update(id, { nextFlavor: next });
    }
    if (req.description !== undefined) await this._o.store.update(id, { description: req.description });
    return this.get(principal, id);
  }

  /**
   * Moves a RUNNING instance to SNAPSHOTTING for save-as-image (SPEC §5); pair with
   * `leaveSnapshot`. A gateway that dies in between is reconciled at boot (back to RUNNING).
   * @throws INSTANCE_NOT_FOUND, INSTANCE_STATE
   */
  async enterSnapshot(principal: Principal, id: string): Promise<InstanceRecord> {
    const rec = await this.get(principal, id);
    return this._transition(rec, 'saveImage', 'SNAPSHOTTING', { pending: this._o.replicaId });
  }

  /** Back to RUNNING after a save (whether it worked or not). */
  async leaveSnapshot(id: string): Promise<void> {
    const rec = await this._o.store.transition(id, ['SNAPSHOTTING'], 'RUNNING', { pending: null });
    if (rec) this.emit('statusChanged', rec);
  }

  // ---- background work ------------------------------------------------------------------

  private _run(id: string, op: () => Promise<void>): void {
    const p = op()
      .catch(err => this._o.log.error({ err, instance: id }, 'background operation failed'))
      .finally(() => {
        if (this._inflight.get(id) === p) this._inflight.delete(id);
      });
    this._inflight.set(id, p);
  }

  private async _start(rec: InstanceRecord, from: 'CREATING' | 'STARTING'): Promise<void> {
    const log = this._o.log.child({ instance: rec.id });
    const abort = new AbortController();
    this._aborts.add(abort);
    const timer = setTimeout(() => abort.abort(new Error(`start took longer than ${this._o.startTimeoutMs} ms`)), this._o.startTimeoutMs);
    const began = Date.now();
    const progress: StartProgress = { run: began, events: [] };
    this._progress.set(rec.id, progress);
    // Recorded in order, one write at a time, for the event streams of other replicas.
    let recorded: Promise<void> = Promise.resolve();
    const record = (): void => {
      recorded = recorded
        .then(() => this._o.store.recordProgress(rec.id, { run: progress.run, events: [...progress.events] }))
        .catch(err => log.warn({ err: (err as Error).message }, 'cannot record start progress'));
    };
    record();
    let state: DriverState | null = rec.driverState;
    try {
      if (from === 'CREATING') {
        const moved = await this._o.store.transition(rec.id, ['CREATING'], 'STARTING');
        if (!moved) return;
      }
      const spec = await this._spec(rec);
      const result = await this._o.driver.start(spec, rec.driverState, {
        signal: abort.signal,
        onProgress: e => {
          progress.events.push(e);
          this.emit('progress', rec.id, e, progress.run);
          record();
        }
      });
      state = result.state;
      const running = await this._o.store.transition(rec.id, ['STARTING'], 'RUNNING', {
        driverState: result.state, endpoint: result.endpoint, startedAt: Date.now(), pending: null, statusReason: null
      });
      if (!running) {
        // Someone moved it meanwhile (e.g. an admin forced ERROR): do not leave it running.
        await this._o.driver.stop(result.state).catch(() => undefined);
        return;
      }
      log.info({ ms: Date.now() - began }, 'started');
      this.emit('startCompleted', rec.id, 'success', (Date.now() - began) / 1000);
      this.emit('statusChanged', running);
    } catch (err) {
      const reason = abort.signal.aborted && !(err instanceof SpawnError) ? String((abort.signal.reason as Error)?.message ?? 'start aborted') : (err as Error).message;
      if (err instanceof SpawnError) log.warn({ reason: err.reason }, `start failed: ${err.message}`);
      else log.error({ err }, 'start failed');
      if (state) await this._o.driver.stop(state, { now: true }).catch(() => undefined);
      const failed = await this._o.store.transition(rec.id, ['CREATING', 'STARTING'], 'ERROR', {
        statusReason: `start failed: ${reason}`, pending: null, driverState: state
      });
      this.emit('startCompleted', rec.id, 'failure', (Date.now() - began) / 1000);
      if (failed) this.emit('statusChanged', failed);
    } finally {
      clearTimeout(timer);
      this._aborts.delete(abort);
    }
  }

  private async _stop(rec: InstanceRecord): Promise<void> {
    const log = this._o.log.child({ instance: rec.id });
    try {
      if (rec.driverState) await this._o.driver.stop(rec.driverState);
      const stopped = await this._o.store.transition(rec.id, ['STOPPING'], 'STOPPED', { pending: null, endpoint: null });
      log.info('stopped');
      if (stopped) this.emit('statusChanged', stopped);
    } catch (err) {
      log.error({ err }, 'stop failed');
      const failed = await this._o.store.transition(rec.id, ['STOPPING'], 'ERROR', { statusReason: `stop failed: ${(err as Error).message}`, pending: null });
      if (failed) this.emit('statusChanged', failed);
    }
  }

  // ---- reconciliation --------------------------------------------------------------------

  /**
   * Brings stored states in line with the world.
   * @param boot - at boot, transitional states this replica left behind are settled at once.
   */
  async reconcile(opts: { boot: boolean }): Promise<void> {
    const stale = Date.now() - this._o.startTimeoutMs * 2;
    for (const rec of await this._o.store.inStatus(['CREATING', 'STARTING', 'STOPPING', 'DELETING', 'SNAPSHOTTING'])) {
      if (this._inflight.has(rec.id)) continue;
      const mine = rec.pending === this._o.replicaId && opts.boot;
      if (!mine && rec.updatedAt > stale) continue;
      await this._settle(rec).catch(err => this._o.log.warn({ err, instance: rec.id }, 'reconcile failed'));
    }
    for (const rec of await this._o.store.inStatus(['RUNNING'])) {
      await this._checkOne(rec.id, rec).catch(err => this._o.log.warn({ err, instance: rec.id }, 'liveness check failed'));
    }
  }

  private async _settle(rec: InstanceRecord): Promise<void> {
    const log = this._o.log.child({ instance: rec.id });
    const status = rec.driverState && rec.driver === this._o.driver.kind ? await this._o.driver.poll(rec.driverState) : { running: false as const };
    switch (rec.status) {
      case 'CREATING':
      case 'STARTING': {
        if (status.running) {
          await this._o.store.transition(rec.id, [rec.status], 'RUNNING', { endpoint: status.endpoint, pending: null, startedAt: rec.startedAt ?? Date.now() });
        } else {
          // The dead gateway may have launched an agent or container it never recorded: an
          // ERROR instance must not keep compute running that nobody can reach or stop.
          await this._o.driver.abandon?.({ id: rec.id }).catch(err => log.warn({ err }, 'could not stop what the interrupted start left running'));
          await this._o.store.transition(rec.id, [rec.status], 'ERROR', { statusReason: 'the gateway restarted while the instance was starting; start it again', pending: null });
        }
        break;
      }
      case 'STOPPING':
      case 'SNAPSHOTTING': {
        if (rec.status === 'STOPPING' && rec.driverState) await this._o.driver.stop(rec.driverState).catch(() => undefined);
        const to: InstanceStatus = rec.status === 'STOPPING' || !status.running ? 'STOPPED' : 'RUNNING';
        await this._o.store.transition(rec.id, [rec.status], to, { pending: null, ...(to === 'STOPPED' ? { endpoint: null } : {}) });
        break;
      }
      case 'DELETING':
        await this._o.driver.remove(rec.driverState, { id: rec.id });
        await this._o.store.markDeleted(rec.id);
        break;
      default:
        break;
    }
    log.info({ from: rec.status }, 'reconciled an interrupted operation');
  }

  private async _checkOne(id: string, known?: InstanceRecord): Promise<void> {
    const rec = known ?? (await this._o.store.get(id));
    if (!rec || rec.status !== 'RUNNING' || this._inflight.has(id)) return;
    if (rec.driver !== this._o.driver.kind) {
      await this._o.store.transition(id, ['RUNNING'], 'ERROR', { statusReason: `created with the ${rec.driver} runtime; this gateway runs ${this._o.driver.kind}` });
      return;
    }
    const status = rec.driverState ? await this._o.driver.poll(rec.driverState) : ({ running: false, reason: 'no runtime state recorded' } as const);
    if (status.running) return;
    const reason = status.reason ?? (status.exitCode !== undefined ? `exited with code ${status.exitCode}` : 'it is no longer running');
    const failed = await this._o.store.transition(id, ['RUNNING'], 'ERROR', { statusReason: `the instance stopped unexpectedly: ${reason}`, endpoint: null });
    if (failed) {
      this._o.log.warn({ instance: id, reason }, 'instance lost');
      this.emit('statusChanged', failed);
    }
  }

  private _schedulePoll(): void {
    if (this._disposed) return;
    const jitter = 0.8 + Math.random() * 0.4;
    this._pollTimer = setTimeout(() => {
      void this.reconcile({ boot: false })
        .catch(err => this._o.log.warn({ err }, 'poll failed'))
        .finally(() => this._schedulePoll());
    }, this._o.pollIntervalMs * jitter);
    this._pollTimer.unref();
  }

  /** Purges storage of instances deleted longer ago than the retention period. */
  async purgeExpired(): Promise<number> {
    const before = Date.now() - this._o.volumeRetentionDays * 86_400_000;
    const ids = await this._o.store.purgeable(before);
    for (const id of ids) {
      await this._o.driver.purgeStorage({ id });
      await this._o.store.markPurged(id);
    }
    return ids.length;
  }

  // ---- helpers ---------------------------------------------------------------------------

  private async _transition(rec: InstanceRecord, op: Operation, to: InstanceStatus, patch: Parameters<InstanceStore['transition']>[3]): Promise<InstanceRecord> {
    this._assertAllowed(op, rec);
    const next = await this._o.store.transition(rec.id, allowedFrom(op), to, patch);
    if (next) return next;
    // Lost a race: report the state that won.
    const now = await this._o.store.get(rec.id);
    if (!now) throw Errors.INSTANCE_NOT_FOUND(rec.id);
    this._assertAllowed(op, now);
    throw Errors.INSTANCE_BUSY(rec.name, now.status);
  }

  private _assertAllowed(op: Operation, rec: InstanceRecord): void {
    if (!allowedFrom(op).includes(rec.status)) {
      throw Errors.INSTANCE_STATE(opVerb(op), rec.name, rec.status, advice(op), { status: rec.status, allowedFrom: allowedFrom(op) });
    }
  }

  private _checkDriver(rec: InstanceRecord): void {
    if (rec.driver !== this._o.driver.kind) {
      throw Errors.DRIVER_UNSUPPORTED(this._o.driver.kind, `instance "${rec.name}" was created with the ${rec.driver} runtime`);
    }
  }

  private async _image(principal: Principal | null, name: string, ownerId: string): Promise<ImageEntry> {
    const image = await this._o.images.resolve(principal, name, ownerId);
    if (!image) throw Errors.IMAGE_NOT_FOUND(name, (await this._o.images.names(principal, ownerId)).join(', '));
    return image;
  }

  private _flavor(id: string | undefined, image: ImageEntry, principal: Principal): Flavor {
    const flavors = this._o.flavors;
    const flavor = id === undefined ? defaultFlavorFor(flavors, image.chips[0]!) : flavors.find(f => f.id === id);
    if (!flavor) throw Errors.FLAVOR_NOT_FOUND(id ?? `(default for ${image.chips[0]})`, flavors.map(f => f.id).join(', '));
    if (!image.chips.includes(flavor.chip)) throw Errors.FLAVOR_CHIP_MISMATCH(flavor.id, flavor.chip, image.name, image.chips.join('/'));
    if (flavor.inviteOnly && principal.role !== 'admin' && !principal.flavorGrants?.includes(flavor.id)) throw Errors.FLAVOR_NOT_GRANTED(flavor.id);
    return flavor;
  }

  private async _spec(rec: InstanceRecord): Promise<InstanceSpec> {
    const image = await this._image(null, rec.image, rec.ownerId);
    const flavor = this._o.flavors.find(f => f.id === rec.flavor);
    if (!flavor) throw new SpawnError(`flavor "${rec.flavor}" is no longer configured`, { reason: 'flavor', status: 400 });
    return {
      id: rec.id,
      name: rec.name,
      owner: { id: rec.ownerId, name: rec.ownerName },
      image,
      flavor,
      storage: { type: rec.storageType, sizeGB: rec.storageSizeGB },
      baseUrl: instanceBaseUrl(rec.id),
      agentToken: rec.agentToken,
      env: this._o.kernelPrespawn == null ? {} : { NBG_KG_KERNEL_PRESPAWN: String(this._o.kernelPrespawn) }
    };
  }

  /** Waits for background operations (bounded) and stops polling. Never stops instances. */
  async dispose(deadlineMs = 10_000): Promise<void> {
    if (this._disposed) return;
    this._disposed = true;
    if (this._pollTimer) clearTimeout(this._pollTimer);
    this._unwatch?.();
    const pending = Promise.allSettled([...this._inflight.values()]);
    const timeout = new Promise(r => setTimeout(r, deadlineMs).unref());
    if ((await Promise.race([pending.then(() => 'done'), timeout])) !== 'done') {
      for (const a of this._aborts) a.abort(new Error('the gateway is shutting down'));
      await Promise.race([pending, new Promise(r => setTimeout(r, 2_000).unref())]);
    }
  }
}

/** Owners see their own instances; administrators see all. */
export function canSee(principal: Principal, rec: { ownerId: string }): boolean {
  return principal.role === 'admin' || principal.userId === rec.ownerId;
}

/** The public path prefix of an instance. */
export function instanceBaseUrl(id: string): string {
  return `/notebooks/${id}/`;
}

/** Short, URL- and SSH-user-safe ids: 12 characters of [a-z0-9]. */
export function newInstanceId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(12);
  let id = '';
  for (const b of bytes) id += alphabet[b % 36];
  // The first character is a letter so ids never look like numbers.
  return alphabet[randomBytes(1)[0]! % 26] + id.slice(1);
}

function opVerb(op: Operation): string {
  switch (op) {
    case 'updateFlavor': return 'change the flavor of';
    case 'saveImage': return 'save an image of';
    default: return op;
  }
}

