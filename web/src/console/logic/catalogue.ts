/**
 * Catalogue rules the create forms apply: a flavor's chip must be one the image supports
 * (SPEC §2), default flavors first.
 */
import type { FlavorInfo, ImageInfo } from '../../../../server/src/api/types';

export function flavorsForImage(flavors: readonly FlavorInfo[], image: Pick<ImageInfo, 'chips'>): FlavorInfo[] {
  return flavors.filter(f => image.chips.includes(f.chip)).sort((a, b) => Number(a.inviteOnly) - Number(b.inviteOnly));
}
