/**
 * The checks a version's configuration passes before anything is created: image and flavor
 * (as for instances: chips, invite-only grants, what the scheduler can run), the owner's
 * storage root, the object-storage locations themselves, and webhook destinations.
 */
import { isIP } from 'node:net';
import { Errors } from '../errors';
import type { Principal } from '../auth/principal';
import { defaultFlavorFor, type Flavor } from '../catalogue/flavors';
import type { ImageEntry } from '../catalogue/images';
import type { ImageCatalogue } from '../images/image-catalogue';
import type { IObjectStore } from '../storage/object-store';
import type { VersionConfig, WebhookConfig } from './job';
import { checkInputs } from './inputs';
import { formatDirUrl } from './object-url';
import { finishBootFile } from './validate';
import { isPrivateAddress } from './webhooks';

export interface JobConfigCheckOptions {
  objects: IObjectStore;
  /** Presets and custom images; a bare `name:tag` is one of the job owner's. */
  images: Pick<ImageCatalogue, 'resolve' | 'names'>;
  flavors: readonly Flavor[];
  /** The scheduler's kind, for refusals. */
  schedulerKind: string;
  /** Why this scheduler/runtime cannot run an image and flavor (e.g. GPUs as host processes), or null. */
  unsupported: (image: ImageEntry, flavor: Flavor) => string | null;
  /**
   * A user's storage root (SPEC §9: users reach only their own paths). When set, a non-admin's
   * job locations must be under the owner's root; absent: any location.
   */
  storageRootOf?: (user: { id: string; name: string }) => Promise<{ bucket: string; prefix: string }>;
  /** Webhooks may target loopback and private addresses (setting `webhookAllowPrivate`). */
  webhookAllowPrivate?: boolean;
}

export class JobConfigCheck {
  constructor(private readonly _o: JobConfigCheckOptions) {}

  /**
   * Checks image, flavor and object locations together; fills the default flavor and resolves
   * the boot file against the code directory.
   * @param owner - the job's owner (whose custom images a bare `name:tag` means, whose storage root bounds the locations).
   */
  async complete(p: Principal, owner: { id: string; name: string }, c: VersionConfig): Promise<VersionConfig> {
    const image = await this._o.images.resolve(p, c.image, owner.id);
    if (!image) throw Errors.IMAGE_NOT_FOUND(c.image, (await this._o.images.names(p, owner.id)).join(', '));
    const flavors = this._o.flavors;
    const flavor = c.flavor ? flavors.find(f => f.id === c.flavor) : defaultFlavorFor(flavors, image.chips[0]!);
    if (!flavor) throw Errors.FLAVOR_NOT_FOUND(c.flavor || `(default for ${image.chips[0]})`, flavors.map(f => f.id).join(', '));
    if (!image.chips.includes(flavor.chip)) throw Errors.FLAVOR_CHIP_MISMATCH(flavor.id, flavor.chip, image.name, image.chips.join('/'));
    if (flavor.inviteOnly && p.role !== 'admin' && !p.flavorGrants?.includes(flavor.id)) throw Errors.FLAVOR_NOT_GRANTED(flavor.id);
    const problem = this._o.unsupported(image, flavor);
    if (problem) throw Errors.DRIVER_UNSUPPORTED(this._o.schedulerKind, problem);
    const out: VersionConfig = { ...c, image: image.name, flavor: flavor.id, bootFile: finishBootFile(c.codeUrl, c.bootFile) };
    await this._checkLocations(p, owner, out);
    await checkInputs(this._o.objects, out);
    return out;
  }

  /**
   * Keeps a user's job inside their storage root: code (unless staged from a notebook by the
   * gateway), data, outputs and logs. Administrators are not limited.
   * @throws JOB_LOCATION_FORBIDDEN naming the field and the root.
   */
  private async _checkLocations(p: Principal, owner: { id: string; name: string }, c: VersionConfig): Promise<void> {
    if (!this._o.storageRootOf || p.role === 'admin') return;
    const root = await this._o.storageRootOf(owner);
    const rootUrl = formatDirUrl({ bucket: root.bucket, prefix: root.prefix ? `${root.prefix.replace(/\/+$/, '')}/` : '' });
    const fields: [string, string | null][] = [
      ['codeUrl', c.source.kind === 'notebook' ? null : c.codeUrl],
      ['dataUrl', c.dataUrl],
      ['outputUrl', c.outputUrl],
      ['logUrl', c.logUrl]
    ];
    for (const [field, url] of fields) {
      if (url !== null && !url.startsWith(rootUrl)) throw Errors.JOB_LOCATION_FORBIDDEN(field, url, rootUrl);
    }
  }

  /** Refuses webhook hosts that are plainly local (names resolving to them are refused at delivery). */
  webhook(w: WebhookConfig | null | undefined): void {
    if (!w || this._o.webhookAllowPrivate) return;
    const host = new URL(w.url).hostname.replace(/^\[|\]$/g, '');
    if (host === 'localhost' || host.endsWith('.localhost') || (isIP(host) && isPrivateAddress(host))) {
      throw Errors.VALIDATION(`"webhook.url" points at ${host}, a loopback or private address; webhooks go to public addresses (an administrator can allow private ones: webhookAllowPrivate)`);
    }
  }
}
