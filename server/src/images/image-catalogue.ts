/**
 * The catalogue users pick images from: preset engine images (SPEC §3, `images/catalogue.json`)
 * plus custom images saved from instances (SPEC §5). A custom image is written `name:tag` and
 * inherits engine, chips, SSH and JupyterLab flags from the preset it was built on.
 */
import type { Principal } from '../auth/principal';
import type { ImageEntry } from '../catalogue/images';
import type { CustomImageRecord, CustomImageStore } from './custom-image-store';

export class ImageCatalogue {
  constructor(
    private readonly _presets: readonly ImageEntry[],
    private readonly _custom: CustomImageStore
  ) {}

  presets(): readonly ImageEntry[] {
    return this._presets;
  }

  /** Presets plus the principal's custom images (an administrator sees everyone's). */
  async list(principal: Principal): Promise<ImageEntry[]> {
    const custom = await this._custom.list(principal.role === 'admin' ? undefined : principal.userId);
    const all = await this._custom.list();
    return [...this._presets, ...custom.map(c => this._entry(c, all)).filter((e): e is ImageEntry => e !== null)];
  }

  /** The names a user can write for `ownerId`'s instances (presets, then that owner's custom images). */
  async names(_principal: Principal | null, ownerId: string): Promise<string[]> {
    const own = await this._custom.list(ownerId);
    return [...this._presets.map(p => p.name), ...own.map(c => `${c.name}:${c.tag}`)];
  }

  /**
   * Finds an image by the name a user wrote: a preset name, or `name:tag` of one of the owner's
   * custom images (administrators may write `<owner>/<name>:<tag>`).
   * @param principal - who asks; null for the gateway itself (e.g. restarting an instance).
   * @param ownerId - whose custom images a bare `name:tag` refers to.
   */
  async resolve(principal: Principal | null, name: string, ownerId: string): Promise<ImageEntry | undefined> {
    const preset = this._presets.find(i => i.name === name);
    if (preset) return preset;
    const colon = name.lastIndexOf(':');
    if (colon <= 0) return undefined;
    const all = await this._custom.list();
    const tag = name.slice(colon + 1);
    let base = name.slice(0, colon);
    let owner = ownerId;
    if (principal?.role === 'admin') {
      const slash = base.indexOf('/');
      const byOwner = slash > 0 ? all.find(c => c.ownerName === base.slice(0, slash) && c.name === base.slice(slash + 1) && c.tag === tag) : undefined;
      if (byOwner) {
        owner = byOwner.ownerId;
        base = byOwner.name;
      }
    }
    const rec = all.find(c => c.ownerId === owner && c.name === base && c.tag === tag);
    return rec ? (this._entry(rec, all) ?? undefined) : undefined;
  }

  /** The preset a custom image descends from (following custom bases, bounded). */
  rootPreset(rec: Pick<CustomImageRecord, 'baseImage' | 'ownerId'>, all: readonly CustomImageRecord[]): ImageEntry | undefined {
    let base = rec.baseImage;
    for (let depth = 0; depth < 16; depth++) {
      const preset = this._presets.find(p => p.name === base);
      if (preset) return preset;
      const colon = base.lastIndexOf(':');
      const parent = all.find(c => c.ownerId === rec.ownerId && `${c.name}:${c.tag}` === base && colon > 0);
      if (!parent) return undefined;
      base = parent.baseImage;
    }
    return undefined;
  }

  private _entry(rec: CustomImageRecord, all: readonly CustomImageRecord[]): ImageEntry | null {
    const root = this.rootPreset(rec, all);
    if (!root) return null;
    return {
      name: `${rec.name}:${rec.tag}`,
      engine: root.engine,
      engineVersion: root.engineVersion,
      chips: root.chips,
      ssh: root.ssh,
      jupyterlab: root.jupyterlab,
      description: rec.description || `Saved from an instance of ${rec.baseImage}`,
      ref: rec.ref,
      ownerId: rec.ownerId
    };
  }
}
