/**
 * The gateway's SSH host key: created once (ed25519) in `<dataDir>/ssh/`, then reused, so
 * clients' known_hosts entries stay valid across restarts.
 *
 * #### Notes
 * Several gateway replicas behind one address must share the file (copy it, or mount the
 * same data dir), or clients will see a changed host key depending on the replica.
 */
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { utils } from 'ssh2';
import { generateEd25519Pair } from './ed25519';
import { fingerprintOf } from './ssh-keys';

export const HOST_KEY_FILE = 'ssh_host_ed25519_key';

export interface HostKey {
  /** OpenSSH private key text for ssh2's `hostKeys`. */
  privateKey: string;
  /** `ssh-ed25519 AAAA…` for known_hosts lines. */
  publicKey: string;
  fingerprint: string;
}

/** Loads the host key from `dir`, creating it (0600) on first use. */
export async function loadOrCreateHostKey(dir: string): Promise<HostKey> {
  const file = join(dir, HOST_KEY_FILE);
  let privateKey = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (privateKey === null) {
    const pair = generateEd25519Pair('nbgateway host key');
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    // Write, then link into place: a process starting at the same moment never reads half a
    // key, and when two create one at once, the first link wins and both use that key.
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, pair.private, { mode: 0o600 });
    await link(tmp, file).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    await unlink(tmp);
    privateKey = await readFile(file, 'utf8');
  }
  const parsed = utils.parseKey(privateKey);
  if (parsed instanceof Error) throw new Error(`the SSH host key in ${file} cannot be read: ${parsed.message}`);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  const blob = key.getPublicSSH();
  return { privateKey, publicKey: `${key.type} ${blob.toString('base64')}`, fingerprint: fingerprintOf(blob) };
}
