/**
 * Boundary checks for SSH requests (STYLE.md §21): per-instance settings and key uploads.
 */
import { Errors } from '../errors';
import { parseCidr } from './cidr';
import { KEY_NAME_PATTERN, KEY_NAME_RULE } from './key-store';

/** Most ranges one instance's allow-list may hold. */
export const MAX_ALLOW_CIDRS = 64;

/** Per-instance SSH settings (SPEC §1 "ssh", §7). */
export interface SshSettings {
  enabled: boolean;
  /** Canonical CIDR ranges; empty = every address may connect. */
  allowCidrs: string[];
}

export interface KeyCreateRequest {
  name: string;
  /** Absent: generate an ed25519 pair and return its private key once. */
  publicKey: string | undefined;
}

function obj(body: unknown, what: string): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw Errors.VALIDATION(`${what} must be a JSON object`);
  return body as Record<string, unknown>;
}

function rejectUnknown(o: Record<string, unknown>, known: readonly string[], where: string): void {
  const unknown = Object.keys(o).filter(k => !known.includes(k));
  if (unknown.length) throw Errors.VALIDATION(`unknown field(s) ${unknown.map(k => `"${where}${k}"`).join(', ')}; allowed: ${known.join(', ')}`);
}

/**
 * Checks SSH settings from a request.
 * @param where - field prefix for messages (`ssh.` inside a create body).
 * @param base - current settings that a partial update changes; absent: defaults (enabled, any address).
 */
export function validateSshSettings(body: unknown, where = '', base?: SshSettings): SshSettings {
  const o = obj(body, where ? `"${where.slice(0, -1)}"` : 'request body');
  rejectUnknown(o, ['enabled', 'allowCidrs'], where);
  const out: SshSettings = { enabled: base?.enabled ?? true, allowCidrs: base?.allowCidrs ?? [] };
  if (o.enabled !== undefined) {
    if (typeof o.enabled !== 'boolean') throw Errors.VALIDATION(`"${where}enabled" must be true or false`);
    out.enabled = o.enabled;
  }
  if (o.allowCidrs !== undefined) out.allowCidrs = validateCidrs(o.allowCidrs, `${where}allowCidrs`);
  return out;
}

/** A list of CIDR ranges → canonical texts, deduplicated, order kept. */
export function validateCidrs(v: unknown, field: string): string[] {
  if (!Array.isArray(v)) throw Errors.VALIDATION(`"${field}" must be an array of CIDR ranges, e.g. ["203.0.113.0/24", "2001:db8::/32"]; [] allows every address`);
  if (v.length > MAX_ALLOW_CIDRS) throw Errors.VALIDATION(`"${field}" has ${v.length} ranges; at most ${MAX_ALLOW_CIDRS} are allowed`);
  const out: string[] = [];
  v.forEach((item, i) => {
    if (typeof item !== 'string') throw Errors.VALIDATION(`"${field}[${i}]" must be a string such as "203.0.113.0/24"`);
    try {
      const text = parseCidr(item).text;
      if (!out.includes(text)) out.push(text);
    } catch (err) {
      throw Errors.VALIDATION(`"${field}[${i}]": ${(err as Error).message}`);
    }
  });
  return out;
}

/** `POST /api/v1/ssh/keys` body: `{ name, publicKey? }`. */
export function validateKeyCreate(body: unknown): KeyCreateRequest {
  const o = obj(body, 'request body');
  rejectUnknown(o, ['name', 'publicKey'], '');
  if (typeof o.name !== 'string' || !KEY_NAME_PATTERN.test(o.name)) {
    throw Errors.VALIDATION(`"name" is required: ${KEY_NAME_RULE}${typeof o.name === 'string' ? `; got "${o.name.slice(0, 80)}"` : ''}`);
  }
  if (o.publicKey !== undefined && typeof o.publicKey !== 'string') {
    throw Errors.VALIDATION('"publicKey" must be a string (one line of your .pub file); leave it out to generate an ed25519 key pair');
  }
  return { name: o.name, publicKey: o.publicKey as string | undefined };
}
