/**
 * Users' SSH public keys: parsing what people paste, fingerprints as `ssh-keygen -l` prints
 * them, and ed25519 generation. Pure; the database lives in `key-store.ts`.
 */
import { createHash } from 'node:crypto';
import { utils } from 'ssh2';
import { Errors } from '../errors';
import { generateEd25519Pair } from './ed25519';

/** Key types accepted for sign-in, strongest first. */
export const ACCEPTED_KEY_TYPES = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa'] as const;
export type AcceptedKeyType = (typeof ACCEPTED_KEY_TYPES)[number];

/** RSA keys shorter than this are refused (OpenSSH refuses < 1024; NIST deprecates < 2048). */
export const RSA_MIN_BITS = 2048;
/** Longest public key text accepted (an RSA-16384 line is ~2.8 kB). */
export const PUBLIC_KEY_MAX_CHARS = 8_192;

const HOW = 'paste one line of your .pub file, e.g. "ssh-ed25519 AAAAC3Nza… you@laptop" (ssh-keygen -t ed25519 makes one)';

export interface PublicKeyInfo {
  type: AcceptedKeyType;
  /** The SSH wire encoding of the key (what clients offer). */
  blob: Buffer;
  /** `SHA256:<base64, no padding>`, as `ssh-keygen -lf` prints. */
  fingerprint: string;
  comment: string;
  /** `<type> <base64>` (the comment is kept apart). */
  openssh: string;
  /** Key size for RSA, curve size for ECDSA, 256 for ed25519. */
  bits: number;
}

/**
 * Parses one OpenSSH public key line.
 * @throws SSH_KEY_INVALID naming what is wrong and what is accepted.
 */
export function parsePublicKey(input: unknown): PublicKeyInfo {
  if (typeof input !== 'string' || input.trim() === '') throw Errors.SSH_KEY_INVALID(`"publicKey" is required: ${HOW}`);
  if (input.length > PUBLIC_KEY_MAX_CHARS) throw Errors.SSH_KEY_INVALID(`"publicKey" is longer than ${PUBLIC_KEY_MAX_CHARS} characters: ${HOW}`);
  const text = input.trim();
  if (/PRIVATE KEY/.test(text)) {
    throw Errors.SSH_KEY_INVALID('this is a private key: never share it. Upload the public key instead (the .pub file next to it)');
  }
  if (/^-{4} BEGIN SSH2 PUBLIC KEY/.test(text)) {
    throw Errors.SSH_KEY_INVALID('this key is in RFC 4716 format; convert it with "ssh-keygen -i -f <file>" and paste the one-line result');
  }
  if (/[\r\n]/.test(text)) throw Errors.SSH_KEY_INVALID(`"publicKey" must be a single key on one line: ${HOW}`);
  const first = text.split(/\s+/)[0]!;
  if (first.startsWith('sk-')) {
    throw Errors.SSH_KEY_INVALID(`security-key types (${first}) are not supported; use an ed25519, ECDSA or RSA (≥ ${RSA_MIN_BITS} bits) key`);
  }
  if (first === 'ssh-dss') throw Errors.SSH_KEY_INVALID('DSA keys are insecure and disabled in OpenSSH; use an ed25519 key (ssh-keygen -t ed25519)');
  if (!(ACCEPTED_KEY_TYPES as readonly string[]).includes(first)) {
    throw Errors.SSH_KEY_INVALID(`"${first.slice(0, 40)}" is not a key type we accept (${ACCEPTED_KEY_TYPES.join(', ')}); authorized_keys options are not accepted either: ${HOW}`);
  }
  const parsed = utils.parseKey(text);
  if (parsed instanceof Error) throw Errors.SSH_KEY_INVALID(`the key could not be read (${parsed.message}): ${HOW}`);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key.isPrivateKey()) throw Errors.SSH_KEY_INVALID('this is a private key: upload the public key (.pub) instead');
  const type = key.type as AcceptedKeyType;
  const blob = key.getPublicSSH();
  const bits = keyBits(type, blob);
  if (type === 'ssh-rsa' && bits < RSA_MIN_BITS) {
    throw Errors.SSH_KEY_INVALID(`this RSA key has ${bits} bits; at least ${RSA_MIN_BITS} are required (or use ed25519: ssh-keygen -t ed25519)`);
  }
  return { type, blob, fingerprint: fingerprintOf(blob), comment: key.comment, openssh: `${type} ${blob.toString('base64')}`, bits };
}

/** `SHA256:…` fingerprint of a key blob, identical to `ssh-keygen -l -E sha256`. */
export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * Generates an ed25519 key pair.
 * @returns the private key in OpenSSH format (shown to the user once, never stored) and the
 *   parsed public key.
 */
export function generateEd25519(comment: string): { privateKey: string; publicKey: PublicKeyInfo } {
  const pair = generateEd25519Pair(comment);
  const publicKey = parsePublicKey(pair.public);
  return { privateKey: pair.private, publicKey: { ...publicKey, comment } };
}

/** Size of a key from its wire blob (RSA modulus bits; curve size otherwise). */
function keyBits(type: AcceptedKeyType, blob: Buffer): number {
  switch (type) {
    case 'ssh-ed25519':
      return 256;
    case 'ecdsa-sha2-nistp256':
      return 256;
    case 'ecdsa-sha2-nistp384':
      return 384;
    case 'ecdsa-sha2-nistp521':
      return 521;
    case 'ssh-rsa': {
      // string "ssh-rsa", mpint e, mpint n
      let p = 0;
      const next = (): Buffer => {
        const len = blob.readUInt32BE(p);
        const v = blob.subarray(p + 4, p + 4 + len);
        p += 4 + len;
        return v;
      };
      next();
      next();
      let n = next();
      while (n.length > 0 && n[0] === 0) n = n.subarray(1);
      return n.length === 0 ? 0 : (n.length - 1) * 8 + (32 - Math.clz32(n[0]!));
    }
  }
}
