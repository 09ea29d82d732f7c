/**
 * IP allow-lists (SPEC §7): CIDR parsing and matching for IPv4 and IPv6, pure.
 *
 * #### Notes
 * - A bare address is a single-host range (`/32`, `/128`).
 * - A range with host bits set (`10.0.0.1/8`) is refused with the network it probably meant,
 *   as cloud consoles do: silently widening or narrowing it would surprise its author.
 * - IPv4-mapped IPv6 client addresses (`::ffff:203.0.113.5`, what a dual-stack listener
 *   reports) are matched as the IPv4 address they carry.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** A parsed range: network bytes (4 or 16) and prefix length. */
export interface Cidr {
  readonly bytes: Uint8Array;
  readonly prefix: number;
  /** Canonical text, e.g. `10.0.0.0/8`, `2001:db8::/32`. */
  readonly text: string;
}

/**
 * Parses one CIDR or bare address.
 * @throws Error whose message says what is wrong and what is allowed.
 */
export function parseCidr(input: string): Cidr {
  const text = input.trim();
  const slash = text.indexOf('/');
  const addr = slash === -1 ? text : text.slice(0, slash);
  const bytes = parseIp(addr);
  if (!bytes) throw new Error(`"${input}" is not an IPv4 or IPv6 address or CIDR range (e.g. 203.0.113.0/24, 2001:db8::/32)`);
  const max = bytes.length * 8;
  let prefix = max;
  if (slash !== -1) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) throw new Error(`"${input}": the prefix length must be 0–${max}`);
    prefix = Number(p);
  }
  const network = mask(bytes, prefix);
  if (!equal(network, bytes)) {
    throw new Error(`"${input}" has host bits set; did you mean ${formatIp(network)}/${prefix}?`);
  }
  return { bytes: network, prefix, text: `${formatIp(network)}/${prefix}` };
}

/** True when `ip` (as a socket reports it) lies in the range. */
export function cidrContains(cidr: Cidr, ip: string): boolean {
  const bytes = clientBytes(ip);
  if (!bytes || bytes.length !== cidr.bytes.length) return false;
  return equal(mask(bytes, cidr.prefix), cidr.bytes);
}

/** True when `ip` lies in any range of the list. */
export function anyContains(list: readonly Cidr[], ip: string): boolean {
  return list.some(c => cidrContains(c, ip));
}

/** A client address as bytes, with IPv4-mapped IPv6 unwrapped to IPv4. */
function clientBytes(ip: string): Uint8Array | null {
  const bytes = parseIp(ip.replace(/%.*$/, ''));
  if (bytes && bytes.length === 16 && isV4Mapped(bytes)) return bytes.slice(12);
  return bytes;
}

function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/** Address text → 4 or 16 bytes; null when it is not an address. */
export function parseIp(text: string): Uint8Array | null {
  if (isIPv4(text)) return Uint8Array.from(text.split('.').map(Number));
  if (!isIPv6(text)) return null;
  let s = text;
  const tail: number[] = [];
  if (s.includes('.')) {
    // An embedded IPv4 tail (`::ffff:1.2.3.4`) becomes two 16-bit groups.
    const colon = s.lastIndexOf(':');
    const v4 = s.slice(colon + 1).split('.').map(Number);
    tail.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    s = s.slice(0, colon + 1);
    if (!s.endsWith('::')) s = s.slice(0, -1);
  }
  const [head, rest] = s.includes('::') ? (s.split('::') as [string, string]) : [s, undefined];
  const groups = (part: string | undefined): number[] => (part ? part.split(':').filter(g => g !== '').map(g => parseInt(g, 16)) : []);
  const left = groups(head);
  const right = [...groups(rest), ...tail];
  const fill = rest === undefined ? [] : new Array<number>(8 - left.length - right.length).fill(0);
  const all = rest === undefined ? [...left, ...tail] : [...left, ...fill, ...right];
  if (all.length !== 8) return null;
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

/** Bytes → canonical text (RFC 5952 for IPv6: lower case, longest zero run as `::`). */
export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join('.');
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i]! << 8) | b[i + 1]!);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map(x => x.toString(16));
  if (best === -1) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

function mask(b: Uint8Array, prefix: number): Uint8Array {
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    out[i] = b[i]! & ((0xff << (8 - bits)) & 0xff);
  }
  return out;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
