/**
 * Form rules the console checks as the user types. They mirror the gateway's boundary checks
 * (`server/src/instances/validate.ts`; a test keeps them in sync); the gateway stays the
 * authority and its messages are shown when it refuses.
 */

/** SPEC §1: letters, digits, `_`, `-`; 1–20 characters. */
export const NAME_PATTERN = /^[A-Za-z0-9_-]{1,20}$/;
export const NAME_MAX = 20;
export const DESCRIPTION_MAX = 256;
export const STORAGE_MIN_GB = 5;
export const STORAGE_MAX_GB = 500;
export const STORAGE_DEFAULT_GB = 5;
/** SPEC §6: a TIMING lease is 1–72 hours. */
export const LEASE_MIN_HOURS = 1;
export const LEASE_MAX_HOURS = 72;

/** @returns a message saying what is wrong and what is allowed, or null when valid. */
export function nameProblem(name: string, taken: readonly string[] = []): string | null {
  if (name.length === 0) return 'A name is required: 1–20 letters, digits, "_" or "-".';
  const n = [...name].length;
  if (n > NAME_MAX) return `${n} characters; at most ${NAME_MAX} are allowed.`;
  const bad = [...new Set([...name].filter(c => !/[A-Za-z0-9_-]/.test(c)))];
  if (bad.length) return `Not allowed: ${bad.map(c => (c === ' ' ? 'space' : `"${c}"`)).join(', ')}. Use letters, digits, "_" and "-".`;
  if (taken.includes(name)) return `You already have an instance named "${name}".`;
  return null;
}

export function descriptionProblem(d: string): string | null {
  const n = [...d].length;
  if (n > DESCRIPTION_MAX) return `${n} characters; at most ${DESCRIPTION_MAX} are allowed.`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(d)) return 'Control characters are not allowed.';
  return null;
}

export function storageProblem(sizeGB: number): string | null {
  if (!Number.isInteger(sizeGB) || sizeGB < STORAGE_MIN_GB || sizeGB > STORAGE_MAX_GB) {
    return `A whole number of GB from ${STORAGE_MIN_GB} to ${STORAGE_MAX_GB}.`;
  }
  return null;
}

/** One IPv4/IPv6 CIDR (or a bare address) per entry. */
export function cidrProblem(entry: string): string | null {
  const [addr, bits, extra] = entry.split('/');
  if (extra !== undefined || !addr) return `"${entry}" is not an address or CIDR.`;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(addr);
  if (v4) {
    if (v4.slice(1).some(o => Number(o) > 255)) return `"${entry}": each part of an IPv4 address is 0–255.`;
    if (bits !== undefined && !(/^\d{1,2}$/.test(bits) && Number(bits) <= 32)) return `"${entry}": the prefix of an IPv4 CIDR is 0–32.`;
    return null;
  }
  if (/^[0-9a-fA-F:]+$/.test(addr) && addr.includes(':')) {
    if (bits !== undefined && !(/^\d{1,3}$/.test(bits) && Number(bits) <= 128)) return `"${entry}": the prefix of an IPv6 CIDR is 0–128.`;
    return null;
  }
  return `"${entry}" is not an IPv4/IPv6 address or CIDR (e.g. 203.0.113.0/24).`;
}

/** Splits an allow-list typed with commas, spaces or new lines. */
export function parseAllowList(text: string): { entries: string[]; problems: string[] } {
  const entries = text.split(/[\s,]+/).filter(Boolean);
  return { entries, problems: entries.map(cidrProblem).filter((p): p is string => p !== null) };
}

/** A quick check of a pasted public key line; the gateway does the real parsing. */
export function publicKeyProblem(line: string): string | null {
  const t = line.trim();
  if (!t) return 'Paste one line of your .pub file.';
  if (/PRIVATE KEY/.test(t)) return 'That is a private key: never share it. Paste the .pub file instead.';
  if (!/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+( .*)?$/.test(t)) {
    return 'Expected "ssh-ed25519 AAAA… comment" (or ecdsa-sha2-*, ssh-rsa).';
  }
  return null;
}

export function leaseHoursProblem(hours: number): string | null {
  if (!Number.isInteger(hours) || hours < LEASE_MIN_HOURS || hours > LEASE_MAX_HOURS) return `A whole number of hours from ${LEASE_MIN_HOURS} to ${LEASE_MAX_HOURS}.`;
  return null;
}
