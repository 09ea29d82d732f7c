/**
 * ed25519 key pairs in OpenSSH's formats, made with Node's crypto.
 *
 * #### Notes
 * ssh2 1.17's `utils.generateKeyPairSync('ed25519')` writes a malformed key whenever the
 * public key starts with a zero byte (1 in 256): it drops that byte as if the key were an
 * mpint, and neither ssh2 nor OpenSSH can read the result. So the encoding is done here:
 * the public key is `string "ssh-ed25519", string pk[32]` (RFC 8709), the private key the
 * `openssh-key-v1` container OpenSSH writes (PROTOCOL.key), unencrypted.
 */
import { createPrivateKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';

const TYPE = 'ssh-ed25519';

function sshString(data: Buffer | string): Buffer {
  const b = typeof data === 'string' ? Buffer.from(data) : data;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** The 32-byte seed and public key of an ed25519 key object. */
function rawParts(key: KeyObject): { seed: Buffer; pub: Buffer } {
  const jwk = key.export({ format: 'jwk' }) as { d?: string; x?: string };
  if (!jwk.d || !jwk.x) throw new Error('not an ed25519 private key');
  return { seed: Buffer.from(jwk.d, 'base64url'), pub: Buffer.from(jwk.x, 'base64url') };
}

/** The SSH wire blob of an ed25519 public key. */
export function ed25519Blob(pub: Buffer): Buffer {
  return Buffer.concat([sshString(TYPE), sshString(pub)]);
}

/**
 * Encodes a private key as OpenSSH writes it (`-----BEGIN OPENSSH PRIVATE KEY-----`).
 * @param seed - the 32-byte private seed; @param pub - the 32-byte public key.
 */
export function encodeOpenSshPrivateKey(seed: Buffer, pub: Buffer, comment: string): string {
  const check = randomBytes(4);
  let body = Buffer.concat([check, check, sshString(TYPE), sshString(pub), sshString(Buffer.concat([seed, pub])), sshString(comment)]);
  // Pad to the cipher block size ("none": 8) with 1, 2, 3, …
  const pad = (8 - (body.length % 8)) % 8;
  body = Buffer.concat([body, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
  const blob = Buffer.concat([
    Buffer.from('openssh-key-v1\0'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    uint32(1),
    sshString(ed25519Blob(pub)),
    sshString(body)
  ]);
  const lines = blob.toString('base64').match(/.{1,70}/g)!;
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

/** A new ed25519 pair: the private key in OpenSSH format and the `ssh-ed25519 AAAA… comment` line. */
export function generateEd25519Pair(comment: string): { private: string; public: string } {
  const { privateKey } = generateKeyPairSync('ed25519');
  return fromPrivateKey(privateKey, comment);
}

/** The OpenSSH encodings of an existing ed25519 private key (a seed, for tests). */
export function ed25519FromSeed(seed: Buffer, comment: string): { private: string; public: string } {
  // PKCS#8 DER of an ed25519 key: a fixed 16-byte prefix, then the 32-byte seed.
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  return fromPrivateKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }), comment);
}

function fromPrivateKey(key: KeyObject, comment: string): { private: string; public: string } {
  const { seed, pub } = rawParts(key);
  return {
    private: encodeOpenSshPrivateKey(seed, pub, comment),
    public: `${TYPE} ${ed25519Blob(pub).toString('base64')}${comment ? ` ${comment}` : ''}`
  };
}
