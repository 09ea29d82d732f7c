/**
 * Catalogue rules the create forms apply: a flavor's chip must be one the image supports
 * (SPEC §2); invite-only flavors come last (they are offered, disabled, when not granted, so
 * users learn they exist and whom to ask).
 */
import type { FlavorInfo, ImageInfo } from '../../../../server/src/api/types';

export function flavorsForImage(flavors: readonly FlavorInfo[], image: Pick<ImageInfo, 'chips'>): FlavorInfo[] {
  return flavors.filter(f => image.chips.includes(f.chip)).sort((a, b) => Number(a.inviteOnly) - Number(b.inviteOnly));
}
