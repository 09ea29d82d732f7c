/**
 * Save as image (SPEC §5): a RUNNING instance's container filesystem, minus `~/work`, becomes a
 * custom image `name:tag` of its owner.
 *
 * Steps: reserve the name (a CREATING row) → instance to SNAPSHOTTING → commit to a temporary
 * tag (the runtime pauses and resumes the container) → instance back to RUNNING → refuse if over
 * the size limit or if it added root-owned setuid/setgid files → tag it → READY → push to the
 * registry in the background when one is configured. Any failure removes the image and the row: nothing is
 * half-registered. Audited as `createImage`.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../logger';
import type { Principal } from '../auth/principal';
import { Errors, HttpError } from '../errors';
import type { IImageOperations } from '../drivers/image-ops';
import type { InstanceManager } from '../instances/manager';
import type { IAuditLog } from '../audit/audit';
import type { AccessControl } from '../policy/access-control';
import type { CustomImageRecord, CustomImageStore } from './custom-image-store';
import type { ImageCatalogue } from './image-catalogue';
import { validateImageName, validateImageTag } from './reference';

export interface SaveImageRequest {
  name: string;
  tag: string;
  description: string;
  /** Replace an existing image with the same name:tag. */
  replace: boolean;
}

export interface SaveProgress {
  progress: number;
  step: 'reserve' | 'commit' | 'check' | 'ready';
  message: string;
}

export interface SaveImageOptions {
  store: CustomImageStore;
  catalogue: ImageCatalogue;
  instances: InstanceManager;
  ops: IImageOperations | undefined;
  runtimeKind: string;
  /** Largest image accepted (SPEC §3: 9.5 GB). */
  maxBytes: number;
  /** `host:port[/prefix]` of a registry to push to; empty for none. */
  registry: string;
  audit?: IAuditLog;
  /** Access control (SPEC §9 `image:*` actions); absent in unit tests of the mechanism. */
  access?: Pick<AccessControl, 'authorize'>;
  /** Extra "in use" checks (training jobs): names of users of an image, or []. */
  usage?: Array<(ownerId: string, imageName: string) => Promise<string[]>>;
  log: Logger;
}

/** The local repository of a user's custom images. */
export function customRepository(ownerId: string, name: string): string {
  const owner = createHash('sha256').update(ownerId).digest('hex').slice(0, 12);
  return `nbg-custom/u${owner}/${name}`;
}

export function validateSaveRequest(body: unknown): SaveImageRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw Errors.VALIDATION('request body must be a JSON object');
  const o = body as Record<string, unknown>;
  const unknown = Object.keys(o).filter(k => !['name', 'tag', 'description', 'replace'].includes(k));
  if (unknown.length) throw Errors.VALIDATION(`unknown field(s) ${unknown.join(', ')}; allowed: name, tag, description, replace`);
  const description = o.description ?? '';
  if (typeof description !== 'string' || [...description].length > 256) throw Errors.VALIDATION('"description" must be a string of at most 256 characters');
  if (o.replace !== undefined && typeof o.replace !== 'boolean') throw Errors.VALIDATION('"replace" must be true or false');
  return { name: validateImageName(o.name), tag: validateImageTag(o.tag), description, replace: o.replace === true };
}

export class SaveImageService {
  private readonly _baseFiles = new Map<string, Promise<Set<string>>>();
  private readonly _pushes = new Set<Promise<unknown>>();
  private readonly _timers = new Set<NodeJS.Timeout>();

  constructor(private readonly _o: SaveImageOptions) {}

  /**
   * Saves an instance as an image; resolves with the READY record.
   * @throws INSTANCE_NOT_FOUND, INSTANCE_STATE (not RUNNING), DRIVER_UNSUPPORTED (no images on this
   *   runtime), IMAGE_TAG_EXISTS, IMAGE_TOO_LARGE, IMAGE_PRIVILEGED_FILES
   */
  async save(principal: Principal, instanceId: string, req: SaveImageRequest, ctx: { sourceIp: string | null; onProgress?: (p: SaveProgress) => void }): Promise<CustomImageRecord> {
    const progress = (p: SaveProgress): void => ctx.onProgress?.(p);
    const inst = await this._o.instances.get(principal, instanceId);
    await this._o.access?.authorize(principal, 'image:create', { service: 'image', id: `${req.name}:${req.tag}`, ownerId: inst.ownerId });
    const ops = this._o.ops;
    if (!ops) throw Errors.DRIVER_UNSUPPORTED(this._o.runtimeKind, 'save as image needs a container runtime (Docker)');
    const base = await this._o.catalogue.resolve(principal, inst.image, inst.ownerId);
    if (!base) throw Errors.IMAGE_NOT_FOUND(inst.image, 'the image this instance was created from is gone');
    const repo = customRepository(inst.ownerId, req.name);
    const finalRef = `${repo}:${req.tag}`;
    progress({ progress: 5, step: 'reserve', message: `reserving ${req.name}:${req.tag}` });
    const { id, replacing } = await this._o.store.reserve(
      { ownerId: inst.ownerId, name: req.name, tag: req.tag, ref: finalRef, baseImage: inst.image, sourceInstanceId: inst.id, description: req.description },
      req.replace
    );
    const tempRef = `${repo}:saving-${id.slice(0, 8)}`;
    const audit = (result: 'success' | 'failure', details?: Record<string, unknown>): void => {
      void this._o.audit?.record({
        action: 'createImage', actor: { id: principal.userId, name: principal.name }, sourceIp: ctx.sourceIp,
        resource: { type: 'image', id, name: `${req.name}:${req.tag}`, ownerId: inst.ownerId }, result,
        details: { instance: inst.id, ...details }
      });
    };
    let snapshotting = false;
    let committed = false;
    try {
      const running = await this._o.instances.enterSnapshot(principal, inst.id);
      snapshotting = true;
      if (!running.driverState) throw Errors.INSTANCE_UNREACHABLE('no runtime state recorded for the instance');
      progress({ progress: 15, step: 'commit', message: 'pausing the instance and capturing its filesystem (~/work is not included)' });
      const began = Date.now();
      const { imageId, sizeBytes } = await ops.commit(running.driverState, tempRef, {
        labels: { 'nbgateway.custom-image': id, 'nbgateway.owner': inst.ownerId, 'nbgateway.source-instance': inst.id, 'nbgateway.base-image': inst.image }
      });
      committed = true;
      await this._o.instances.leaveSnapshot(inst.id);
      snapshotting = false;
      this._o.log.info({ instance: inst.id, ms: Date.now() - began, sizeBytes }, 'instance committed');
      progress({ progress: 60, step: 'check', message: 'checking size and setuid/setgid files' });
      if (sizeBytes > this._o.maxBytes) throw Errors.IMAGE_TOO_LARGE(gb(sizeBytes), gb(this._o.maxBytes));
      const [added, baseFiles] = await Promise.all([ops.privilegedFiles(tempRef), this._privilegedBaseFiles(ops, base.ref)]);
      const fresh = added.filter(f => !baseFiles.has(f));
      if (fresh.length) throw Errors.IMAGE_PRIVILEGED_FILES(fresh.slice(0, 10).join(', ') + (fresh.length > 10 ? ` and ${fresh.length - 10} more` : ''));
      // Only now does the final tag move (a replaced image stays usable until here).
      await ops.tag(tempRef, finalRef);
      await this._o.store.markReady(id, { imageId, sizeBytes, pushStatus: this._o.registry ? 'pending' : null }, replacing?.id ?? null, req.tag);
      if (this._o.registry) this._pushLater(id, finalRef, `${repo}:${req.tag}`);
      progress({ progress: 100, step: 'ready', message: `${req.name}:${req.tag} is ready` });
      audit('success', { sizeBytes });
      return (await this._o.store.get(id))!;
    } catch (err) {
      if (snapshotting) await this._o.instances.leaveSnapshot(inst.id).catch(() => undefined);
      if (committed) await ops.removeImage(tempRef).catch(() => undefined);
      await this._o.store.remove(id);
      const failure = err instanceof HttpError ? err : Errors.IMAGE_SAVE_FAILED((err as Error).message);
      if (!(err instanceof HttpError)) this._o.log.error({ err, instance: inst.id }, 'image save failed');
      audit('failure', { code: failure.code, reason: failure.message });
      throw failure;
    } finally {
      if (committed) await ops.removeImage(tempRef).catch(() => undefined);
    }
  }

  /** READY images the principal may list: their own, or everyone's (admins asking for all). */
  async list(principal: Principal, all: boolean): Promise<CustomImageRecord[]> {
    await this._o.access?.authorize(principal, 'image:list');
    return this._o.store.list(all && principal.role === 'admin' ? undefined : principal.userId);
  }

  /** One READY image the principal may see. @throws CUSTOM_IMAGE_NOT_FOUND, ACCESS_DENIED */
  async get(principal: Principal, imageId: string, action: 'image:get' | 'image:delete' = 'image:get'): Promise<CustomImageRecord> {
    const rec = await this._o.store.get(imageId);
    if (!rec || rec.status !== 'READY' || (rec.ownerId !== principal.userId && principal.role !== 'admin')) throw Errors.CUSTOM_IMAGE_NOT_FOUND(imageId);
    await this._o.access?.authorize(principal, action, { service: 'image', id: `${rec.name}:${rec.tag}`, ownerId: rec.ownerId }, () => Errors.CUSTOM_IMAGE_NOT_FOUND(imageId));
    return rec;
  }

  /** Deletes a custom image, refused while an instance or job uses it. */
  async remove(principal: Principal, imageId: string): Promise<void> {
    const rec = await this.get(principal, imageId, 'image:delete');
    const name = `${rec.name}:${rec.tag}`;
    const users = [
      ...(await this._o.store.inUseByInstances(rec.ownerId, name)).map(n => `instance "${n}"`),
      ...(await Promise.all((this._o.usage ?? []).map(check => check(rec.ownerId, name)))).flat()
    ];
    if (users.length) throw Errors.IMAGE_IN_USE(name, users.join(', '));
    await this._o.store.remove(rec.id);
    if (this._o.ops) await this._o.ops.removeImage(rec.ref).catch(err => this._o.log.warn({ err, ref: rec.ref }, 'image removed from the catalogue but not from the runtime'));
  }

  /**
   * Pushes a READY image to the registry in the background: a first push of a multi-GB base
   * takes minutes, and the image is usable on this host meanwhile. The outcome is recorded on
   * the image (`push.status` pending → pushed | failed) and retried at the next gateway start.
   */
  private _pushLater(id: string, ref: string, repoAndTag: string): void {
    const ops = this._o.ops!;
    const target = `${this._o.registry.replace(/\/$/, '')}/${repoAndTag}`;
    const job = ops
      .push(ref, target)
      .then(({ digest }) => this._o.store.setPush(id, { status: 'pushed', pushedRef: target, digest }))
      .catch(async err => {
        this._o.log.warn({ err, image: repoAndTag }, 'push failed');
        await this._o.store.setPush(id, { status: 'failed', error: (err as Error).message }).catch(() => undefined);
      })
      .finally(() => this._pushes.delete(job));
    this._pushes.add(job);
  }

  /** Resumes pushes a previous gateway did not finish. */
  async resumePushes(): Promise<void> {
    if (!this._o.registry || !this._o.ops) return;
    for (const rec of await this._o.store.pendingPushes()) this._pushLater(rec.id, rec.ref, rec.ref);
  }

  /** Waits (bounded) for background pushes. */
  async dispose(deadlineMs = 5_000): Promise<void> {
    for (const t of this._timers) clearTimeout(t);
    this._timers.clear();
    await Promise.race([Promise.allSettled([...this._pushes]), new Promise(r => setTimeout(r, deadlineMs).unref())]);
  }

  /** Removes saves a dead gateway left unfinished (rows and temporary images). */
  async cleanupUnfinished(): Promise<number> {
    const stale = await this._o.store.unfinished();
    const temps: string[] = [];
    for (const rec of stale) {
      const repo = rec.ref.slice(0, rec.ref.lastIndexOf(':'));
      const temp = `${repo}:saving-${rec.id.slice(0, 8)}`;
      temps.push(temp);
      await this._o.ops?.removeImage(temp).catch(err => this._o.log.warn({ err, image: temp }, 'could not remove an unfinished save\'s image yet'));
      await this._o.store.remove(rec.id);
      this._o.log.warn({ image: `${rec.name}:${rec.tag}` }, 'removed an image save the gateway did not finish');
    }
    // The runtime may still be committing for the gateway that died: that image appears
    // after this cleanup, so look for it again a few times.
    if (temps.length) this._removeLater(temps, [5_000, 30_000, 120_000]);
    return stale.length;
  }

  private _removeLater(refs: string[], delays: number[]): void {
    const ops = this._o.ops;
    if (!ops) return;
    for (const ms of delays) {
      const t = setTimeout(() => {
        this._timers.delete(t);
        for (const ref of refs) void ops.removeImage(ref).catch(() => undefined);
      }, ms);
      t.unref();
      this._timers.add(t);
    }
  }

  private _privilegedBaseFiles(ops: IImageOperations, ref: string): Promise<Set<string>> {
    let p = this._baseFiles.get(ref);
    if (!p) {
      p = ops.privilegedFiles(ref).then(list => new Set(list));
      p.catch(() => this._baseFiles.delete(ref));
      this._baseFiles.set(ref, p);
    }
    return p;
  }
}

function gb(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(2)} GB`;
}
