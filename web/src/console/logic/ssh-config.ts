/**
 * The SSH instructions shown for an instance: a `~/.ssh/config` block that VS Code
 * Remote-SSH, PyCharm and plain OpenSSH all read.
 */

export interface SshEndpoint {
  host: string;
  port: number;
  user: string;
}

/** Host alias for an instance: `nbg-<name>`, safe for ssh_config. */
export function hostAlias(instanceName: string): string {
  return `nbg-${instanceName.replace(/[^A-Za-z0-9_-]/g, '-')}`;
}

/**
 * The config block.
 * @param identityFile - the private key the user registered the public half of.
 */
export function sshConfigBlock(instanceName: string, ep: SshEndpoint, identityFile = '~/.ssh/id_ed25519'): string {
  return [
    `Host ${hostAlias(instanceName)}`,
    `  HostName ${ep.host}`,
    `  Port ${ep.port}`,
    `  User ${ep.user}`,
    `  IdentityFile ${identityFile}`,
    '  IdentitiesOnly yes',
    '  ServerAliveInterval 30',
    ''
  ].join('\n');
}

/** The one-line command equivalent. */
export function sshCommand(ep: SshEndpoint, identityFile = '~/.ssh/id_ed25519'): string {
  return `ssh -i ${identityFile}${ep.port === 22 ? '' : ` -p ${ep.port}`} ${ep.user}@${ep.host}`;
}
