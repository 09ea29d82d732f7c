/**
 * Boundary checks for instance requests (STYLE.md §21): bodies are checked here with clear
 * messages, and typed values go inside.
 */
import { Errors } from '../errors';
import type { StorageType } from './instance';
import { validateSshSettings, type SshSettings } from '../ssh/validate';

/** SPEC §1: letters, digits, `_`, `-`; 1–20 characters. */
export const NAME_PATTERN = /^[A-Za-z0-9_-]{1,20}$/;
export const NAME_RULE = 'use 1–20 characters: letters, digits, "_" and "-"';
export const DESCRIPTION_MAX = 256;
export const STORAGE_MIN_GB = 5;
export const STORAGE_MAX_GB = 500;
export const STORAGE_DEFAULT_GB = 5;

export interface CreateInstanceRequest {
  name: string;
  description: string;
  image: string;
  flavor: string | undefined;
  storage: { type: StorageType; sizeGB: number };
  /** Auto-stop settings, checked by `leases/validate.ts` (needs the configured IDLE floor). */
  autoStop?: unknown;
  /** SSH on/off and IP allow-list (SPEC §1 "ssh"); absent: on (where the image allows it), any address. */
  ssh?: SshSettings;
}

export interface UpdateInstanceRequest {
  description?: string;
  /** Changes the flavor now; only while STOPPED (SPEC §1). */
  flavor?: string;
  /** The flavor the next start uses (SPEC §4); any time; null cancels it. */
  nextFlavor?: string | null;
  /** As in CreateInstanceRequest; null removes the lease. */
  autoStop?: unknown;
}

function obj(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw Errors.VALIDATION('request body must be a JSON object');
  return body as Record<string, unknown>;
}

function rejectUnknown(o: Record<string, unknown>, known: readonly string[]): void {
  const unknown = Object.keys(o).filter(k => !known.includes(k));
  if (unknown.length) throw Errors.VALIDATION(`unknown field(s) ${unknown.map(k => `"${k}"`).join(', ')}; allowed: ${known.join(', ')}`);
}

export function validateName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) throw Errors.INSTANCE_NAME_INVALID(String(name ?? ''), `name is required; ${NAME_RULE}`);
  if (name.length > 20) throw Errors.INSTANCE_NAME_INVALID(name, `it has ${[...name].length} characters; ${NAME_RULE}`);
  if (!NAME_PATTERN.test(name)) throw Errors.INSTANCE_NAME_INVALID(name, NAME_RULE);
  return name;
}

export function validateDescription(d: unknown): string {
  if (d === undefined || d === null) return '';
  if (typeof d !== 'string') throw Errors.VALIDATION('"description" must be a string');
  if ([...d].length > DESCRIPTION_MAX) throw Errors.VALIDATION(`"description" has ${[...d].length} characters; at most ${DESCRIPTION_MAX} are allowed`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(d)) throw Errors.VALIDATION('"description" must not contain control characters');
  return d;
}

export function validateCreate(body: unknown): CreateInstanceRequest {
  const o = obj(body);
  rejectUnknown(o, ['name', 'description', 'image', 'flavor', 'storage', 'autoStop', 'ssh']);
  const name = validateName(o.name);
  const description = validateDescription(o.description);
  if (typeof o.image !== 'string' || !o.image) throw Errors.VALIDATION('"image" is required: a name from GET /api/v1/images');
  if (o.flavor !== undefined && typeof o.flavor !== 'string') throw Errors.VALIDATION('"flavor" must be a string: an id from GET /api/v1/flavors');
  let storage: CreateInstanceRequest['storage'] = { type: 'local', sizeGB: STORAGE_DEFAULT_GB };
  if (o.storage !== undefined) {
    const s = obj(o.storage);
    rejectUnknown(s, ['type', 'sizeGB']);
    const type = s.type ?? 'local';
    if (type !== 'local' && type !== 'obs') throw Errors.VALIDATION('"storage.type" must be "local" or "obs"');
    const size = s.sizeGB ?? STORAGE_DEFAULT_GB;
    if (typeof size !== 'number' || !Number.isInteger(size) || size < STORAGE_MIN_GB || size > STORAGE_MAX_GB) {
      throw Errors.VALIDATION(`"storage.sizeGB" must be an integer from ${STORAGE_MIN_GB} to ${STORAGE_MAX_GB} (GB), got ${JSON.stringify(size)}`);
    }
    storage = { type, sizeGB: size };
  }
  return { name, description, image: o.image, flavor: o.flavor as string | undefined, storage, ...(o.autoStop !== undefined ? { autoStop: o.autoStop } : {}),
    ...(o.ssh !== undefined ? { ssh: validateSshSettings(o.ssh, 'ssh.') } : {}) };
}

export function validateUpdate(body: unknown): UpdateInstanceRequest {
  const o = obj(body);
  rejectUnknown(o, ['description', 'flavor', 'nextFlavor', 'autoStop']);
  const out: UpdateInstanceRequest = {};
  if (o.description !== undefined) out.description = validateDescription(o.description);
  if (o.flavor !== undefined) {
    if (typeof o.flavor !== 'string' || !o.flavor) throw Errors.VALIDATION('"flavor" must be a flavor id');
    out.flavor = o.flavor;
  }
  if (o.nextFlavor !== undefined) {
    if (o.nextFlavor !== null && (typeof o.nextFlavor !== 'string' || !o.nextFlavor)) throw Errors.VALIDATION('"nextFlavor" must be a flavor id, or null to cancel a pending change');
    out.nextFlavor = o.nextFlavor as string | null;
  }
  if (o.autoStop !== undefined) out.autoStop = o.autoStop;
  if (Object.keys(out).length === 0) throw Errors.VALIDATION('nothing to update: send "description", "flavor", "nextFlavor" and/or "autoStop"');
  return out;
}
