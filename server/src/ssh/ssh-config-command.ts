/**
 * `nbg ssh-config`: writes a `Host` entry per instance into `~/.ssh/config` (between markers,
 * replacing the previous run's) and the gateway's host key into `~/.ssh/nbg_known_hosts`, so
 * `ssh nbg-demo`, VS Code Remote-SSH and PyCharm find every instance with no prompt.
 *
 * #### Notes
 * `nbg ssh-config` (`server/src/cli/commands/ssh.ts`) calls `sshConfigCommand` with its
 * signed-in client. The data comes from `GET /api/v1/ssh/config`.
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { knownHostsLine, mergeSshConfig, renderSshConfig, type SshConfigEntry } from './ssh-config';

/** What `GET /api/v1/ssh/config` answers. */
export interface SshConfigResponse {
  host: string;
  port: number;
  hostKey: { publicKey: string; fingerprint: string };
  entries: (SshConfigEntry & { instanceId: string; instanceName: string; status: string })[];
  knownHosts: string;
  config: string;
}

export interface SshConfigCommandOptions {
  /** Fetches a gateway path with the user's credentials (the CLI passes its signed-in client). */
  get(path: string): Promise<SshConfigResponse>;
  /** Default `~/.ssh`. */
  sshDir?: string;
  /** Private key for the entries (`IdentityFile`); default: ssh's own choice. */
  identityFile?: string;
  /** Host alias prefix; default `nbg-`. */
  prefix?: string;
}

export interface SshConfigCommandResult {
  configFile: string;
  knownHostsFile: string;
  hosts: string[];
}

/**
 * Fetches the user's instances and writes the config and known_hosts files.
 * @throws what `get` throws (the gateway's refusal), or a file system error.
 */
export async function sshConfigCommand(o: SshConfigCommandOptions): Promise<SshConfigCommandResult> {
  const sshDir = o.sshDir ?? join(homedir(), '.ssh');
  const data = await o.get(`/api/v1/ssh/config?${new URLSearchParams({ prefix: o.prefix ?? 'nbg-' })}`);
  await mkdir(sshDir, { recursive: true, mode: 0o700 });
  const knownHostsFile = join(sshDir, 'nbg_known_hosts');
  const line = knownHostsLine(data.host, data.port, data.hostKey.publicKey);
  const name = line.split(' ')[0]!;
  const known = (await readFile(knownHostsFile, 'utf8').catch(() => '')).split('\n').filter(l => l && l.split(' ')[0] !== name);
  await writeAtomically(knownHostsFile, [...known, line].join('\n') + '\n');
  const configFile = join(sshDir, 'config');
  const block = renderSshConfig({
    host: data.host,
    port: data.port,
    entries: data.entries,
    knownHostsFile,
    ...(o.identityFile ? { identityFile: o.identityFile } : {})
  });
  await writeAtomically(configFile, mergeSshConfig(await readFile(configFile, 'utf8').catch(() => ''), block));
  return { configFile, knownHostsFile, hosts: data.entries.map(e => e.alias) };
}

/** ssh refuses config files others can write: 0600, written then renamed. */
async function writeAtomically(file: string, text: string): Promise<void> {
  const tmp = `${file}.nbg-${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}
