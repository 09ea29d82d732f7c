/**
 * `~/.ssh/config` entries for a user's instances (what `nbg ssh-config` writes), and the
 * known_hosts line of the gateway's host key. Pure: the command that writes files is
 * `ssh-config-command.ts`.
 *
 * #### Notes
 * Entries live between two marker lines, so running the command again replaces them and
 * leaves the rest of the user's file alone (like `gcloud compute config-ssh`).
 */

export const BEGIN_MARKER = '# >>> nbgateway instances (written by nbg ssh-config; edits here are replaced) >>>';
export const END_MARKER = '# <<< nbgateway instances <<<';

export interface SshConfigEntry {
  /** `Host` alias, e.g. `nbg-demo`. */
  alias: string;
  /** Login name `<user>+<instance>`. */
  user: string;
}

export interface SshConfigOptions {
  host: string;
  port: number;
  entries: readonly SshConfigEntry[];
  /** Private key to use (`IdentityFile`, with `IdentitiesOnly yes`); omitted: ssh's defaults and agent. */
  identityFile?: string;
  /** A known_hosts file holding the gateway's key (`UserKnownHostsFile`). */
  knownHostsFile?: string;
}

/** The alias of an instance: prefix + name, reduced to what ssh and VS Code show cleanly. */
export function hostAlias(prefix: string, instanceName: string): string {
  return `${prefix}${instanceName}`.replace(/[^A-Za-z0-9._-]/g, '-');
}

/** Quotes a config value when it holds spaces, quotes or `#` (ssh_config(5) accepts "…"). */
function value(v: string): string {
  return /[\s"#]/.test(v) ? `"${v.replace(/"/g, '')}"` : v;
}

/** The marked block of `Host` entries. */
export function renderSshConfig(o: SshConfigOptions): string {
  const lines = [BEGIN_MARKER, `# gateway ${o.host}:${o.port}`];
  for (const e of o.entries) {
    lines.push(`Host ${e.alias}`, `  HostName ${value(o.host)}`, `  Port ${o.port}`, `  User ${value(e.user)}`);
    if (o.identityFile) lines.push(`  IdentityFile ${value(o.identityFile)}`, '  IdentitiesOnly yes');
    if (o.knownHostsFile) lines.push(`  UserKnownHostsFile ${value(o.knownHostsFile)}`);
    // Keeps idle VS Code and PyCharm connections alive through NATs and shows dead ones fast.
    lines.push('  ServerAliveInterval 30', '  ServerAliveCountMax 4');
  }
  lines.push(END_MARKER);
  return lines.join('\n') + '\n';
}

/** The known_hosts line of the gateway (`[host]:port key` unless the port is 22). */
export function knownHostsLine(host: string, port: number, publicKey: string): string {
  const name = port === 22 ? host : `[${host}]:${port}`;
  return `${name} ${publicKey}`;
}

/**
 * Puts `block` into an existing config text: replaces a previous block, or appends it.
 * @returns the new text.
 */
export function mergeSshConfig(existing: string, block: string): string {
  const start = existing.indexOf(BEGIN_MARKER);
  const end = existing.indexOf(END_MARKER);
  if (start !== -1 && end > start) {
    const after = existing.slice(end + END_MARKER.length).replace(/^\r?\n/, '');
    return existing.slice(0, start) + block + after;
  }
  if (!existing) return block;
  return existing.replace(/\n*$/, '\n\n') + block;
}
