/**
 * What an SSH session's process runs with, as sshd would set it up: the user's login shell,
 * the login variables (HOME, USER, LOGNAME, SHELL, SSH_CONNECTION, …), TERM for a pty, and
 * the variables the client sent; plus where `sftp-server` lives.
 */
import { accessSync, constants } from 'node:fs';
import { userInfo } from 'node:os';
import type { SessionStart } from '../../../../server/src/ssh/agent-protocol';

/** Where distributions put OpenSSH's sftp-server (Debian/Ubuntu, Fedora/RHEL, Arch, macOS). */
export const SFTP_SERVER_PATHS = ['/usr/lib/openssh/sftp-server', '/usr/libexec/openssh/sftp-server', '/usr/lib/ssh/sftp-server', '/usr/libexec/sftp-server'];

/** Shells that mean "no login here" in passwd; sessions fall back to a real shell. */
const NO_LOGIN = /\/(nologin|false)$/;

/** Variables the session sets itself; a client's `env` request cannot replace them. */
const RESERVED = new Set(['HOME', 'USER', 'LOGNAME', 'SHELL', 'MAIL', 'PWD', 'SSH_CONNECTION', 'SSH_CLIENT', 'SSH_TTY', 'SSH_ORIGINAL_COMMAND', 'SSH_AUTH_SOCK']);

/** True for variables a client may set with SendEnv/SetEnv. */
export function isAcceptedEnvName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !RESERVED.has(name) && !name.startsWith('NBG_');
}

/** The user's login shell; `/bin/bash` or `/bin/sh` when passwd names none or nologin. */
export function loginShell(): string {
  let shell = '';
  try {
    shell = userInfo().shell ?? '';
  } catch {
    /* no passwd entry for this uid (possible in containers) */
  }
  if (shell && !NO_LOGIN.test(shell) && executable(shell)) return shell;
  return executable('/bin/bash') ? '/bin/bash' : '/bin/sh';
}

/** The first sftp-server that exists here, or null. */
export function findSftpServer(candidates: readonly string[] = SFTP_SERVER_PATHS): string | null {
  return candidates.find(executable) ?? null;
}

/**
 * The environment of a session's process.
 * @param base - the agent's environment; its own settings and secrets (`NBG_*`) are dropped.
 */
export function sessionEnv(start: SessionStart, shell: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) {
    if (v !== undefined && !k.startsWith('NBG_') && !k.startsWith('JPY_')) env[k] = v;
  }
  let user = base.USER ?? '';
  let home = base.HOME ?? '';
  try {
    const info = userInfo();
    user = info.username;
    home = info.homedir || home;
  } catch {
    /* keep what the environment says */
  }
  Object.assign(env, {
    HOME: home,
    USER: user,
    LOGNAME: user,
    SHELL: shell,
    SSH_CONNECTION: `${start.client.ip} ${start.client.port} ${start.server.ip} ${start.server.port}`,
    SSH_CLIENT: `${start.client.ip} ${start.client.port} ${start.server.port}`
  });
  delete env.TERM;
  if (start.pty) env.TERM = start.pty.term || 'xterm';
  for (const [k, v] of Object.entries(start.env)) if (isAcceptedEnvName(k)) env[k] = v;
  return env;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
