/**
 * `nbg ssh-config`: `~/.ssh/config` entries for the user's instances (docs/ssh.md), so that
 * `ssh nbg-<name>`, VS Code Remote-SSH and PyCharm find them with no prompt.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { renderSshConfig } from '../../ssh/ssh-config';
import { sshConfigCommand, type SshConfigResponse } from '../../ssh/ssh-config-command';
import type { Command } from './context';

/**
 * `nbg ssh-config [--identity-file PATH] [--prefix P] [--ssh-dir DIR] [--print]`: writes the
 * entries and the gateway's host key (`--print` shows the block instead of writing).
 */
export const sshConfig: Command = async ({ flags, out, env, client }) => {
  const identityFile = flags.string('identity-file');
  const prefix = flags.string('prefix') ?? 'nbg-';
  const sshDir = flags.string('ssh-dir') ?? join(env.HOME || homedir(), '.ssh');
  const print = flags.bool('print');
  flags.done(0);
  const api = await client();
  const get = (path: string): Promise<SshConfigResponse> => api.get<SshConfigResponse>(path);
  if (print) {
    const data = await get(`/api/v1/ssh/config?${new URLSearchParams({ prefix })}`);
    const block = renderSshConfig({ host: data.host, port: data.port, entries: data.entries, ...(identityFile ? { identityFile } : {}) });
    out.result({ ...data, config: block }, () => `${block}\n# known_hosts:\n${data.knownHosts}`);
    return;
  }
  const r = await sshConfigCommand({ get, sshDir, prefix, ...(identityFile ? { identityFile } : {}) });
  out.result(r, () =>
    r.hosts.length
      ? `wrote ${r.hosts.length} host(s) to ${r.configFile}: ${r.hosts.join(', ')}\nhost key in ${r.knownHostsFile}; connect with: ssh ${r.hosts[0]}`
      : `you have no instances yet; wrote an empty block to ${r.configFile}`
  );
};
