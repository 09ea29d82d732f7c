/**
 * Docker reference rules (distribution/reference grammar) for custom image names and tags,
 * with messages that say what is allowed.
 *
 *   name      := component ('/' component)*      component := [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)*
 *   tag       := [\w][\w.-]{0,127}
 */
import { Errors } from '../errors';

const COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
/** Our own limit, so `<registry>/nbg/<owner>/<name>` stays under Docker's 255. */
export const NAME_MAX = 128;

export const NAME_RULE = 'lowercase letters, digits and separators (".", "_", "__", "-") between them, optionally in "/"-separated parts, at most 128 characters (e.g. "my-torch" or "team/cv-base")';
export const TAG_RULE = 'letters, digits, "_", "." and "-", not starting with "." or "-", at most 128 characters (e.g. "v1" or "2024.06-gpu")';

/** @throws VALIDATION naming the rule. */
export function validateImageName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) throw Errors.VALIDATION(`"name" is required: ${NAME_RULE}`);
  if (name.length > NAME_MAX || !name.split('/').every(c => COMPONENT.test(c))) {
    throw Errors.VALIDATION(`invalid image name ${JSON.stringify(name)}: use ${NAME_RULE}`);
  }
  return name;
}

/** @throws VALIDATION naming the rule. */
export function validateImageTag(tag: unknown): string {
  if (tag === undefined || tag === null || tag === '') return 'latest';
  if (typeof tag !== 'string' || !TAG.test(tag)) throw Errors.VALIDATION(`invalid image tag ${JSON.stringify(tag)}: use ${TAG_RULE}`);
  return tag;
}

/** Splits `name:tag` (the form users write); a missing tag is `latest`. */
export function splitNameTag(ref: string): { name: string; tag: string } {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) return { name: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { name: ref, tag: 'latest' };
}
