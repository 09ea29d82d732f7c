/**
 * The agent's SSH channel endpoints (docs/architecture.md "Agent platform endpoints",
 * docs/ssh.md): WebSockets under `<base>api/nbg/ssh/` that the gateway's SSH server opens,
 * one per SSH channel, behind the agent token like every other route.
 *
 * - `api/nbg/ssh/session`: shell, exec or the sftp subsystem, with or without a pty;
 * - `api/nbg/ssh/tcp?host=&port=`: `direct-tcpip` to a port inside the instance.
 */
import { JupyterError } from '../../errors';
import type { IDisposable } from '../../../../server/src/lifecycle';
import type { Logger } from '../../logger';
import type { RouteTables } from '../../http/server';
import type { ActivityTracker } from '../activity/tracker';
import { loginShell, SFTP_SERVER_PATHS } from './environment';
import { SSH_SESSION_PATH, SSH_TCP_PATH } from '../../../../server/src/ssh/agent-protocol';
import { SessionChannel } from './session-channel';
import { isLoopbackDestination, runTcpChannel } from './tcp-channel';

/** Time sessions get to exit after SIGHUP when the agent stops. */
const HANGUP_GRACE_MS = 500;

export interface SshRoutesOptions {
  /** Working directory of sessions (`~/work`, the agent's root dir). */
  rootDir: string;
  activity: ActivityTracker;
  log: Logger;
  /** Overrides the login shell (tests). */
  shell?: string;
  /** Overrides where sftp-server is looked for (tests). */
  sftpServers?: readonly string[];
}

/**
 * Registers the SSH channel routes.
 * @returns a disposable that hangs up every session (the agent is stopping).
 */
export function registerSshRoutes(routes: RouteTables, o: SshRoutesOptions): IDisposable {
  const sessions = new Set<SessionChannel>();
  let tcp = 0;
  const log = o.log.child({ area: 'ssh' });
  const shell = o.shell ?? loginShell();
  // One activity timestamp per second at most: touch() is cheap, Date.now() per chunk is not free.
  let lastTouch = 0;
  const onActivity = (): void => {
    const now = Date.now();
    if (now - lastTouch >= 1_000) {
      lastTouch = now;
      o.activity.touch(now);
    }
  };

  routes.ws.add(SSH_SESSION_PATH, async upgrade => {
    const ws = await upgrade.accept();
    const channel = new SessionChannel(ws, {
      rootDir: o.rootDir, shell, log, onActivity, ...(o.sftpServers ? { sftpServers: o.sftpServers } : {})
    });
    sessions.add(channel);
    ws.once('close', () => sessions.delete(channel));
    o.activity.touch();
    channel.run();
  });

  routes.ws.add(SSH_TCP_PATH, async upgrade => {
    const host = upgrade.url.searchParams.get('host') ?? '';
    const portText = upgrade.url.searchParams.get('port') ?? '';
    const port = Number(portText);
    if (!host || !/^\d{1,5}$/.test(portText) || port < 1 || port > 65_535) {
      throw new JupyterError(400, 'host and port (1–65535) are required');
    }
    if (!isLoopbackDestination(host)) {
      throw new JupyterError(403, `only ports inside the instance can be forwarded (localhost, 127.0.0.1, ::1), not ${host}`);
    }
    const ws = await upgrade.accept();
    tcp++;
    ws.once('close', () => tcp--);
    o.activity.touch();
    runTcpChannel(ws, host, port, { onActivity });
  });

  const source = o.activity.addSource({
    connections: () => sessions.size + tcp,
    busy: () => {
      for (const s of sessions) if (s.busy()) return true;
      return false;
    }
  });

  log.debug('ssh channels ready', { shell, sftpCandidates: o.sftpServers ?? SFTP_SERVER_PATHS });
  return {
    dispose: async () => {
      source.dispose();
      const open = [...sessions];
      sessions.clear();
      if (open.length === 0) return;
      // A hang-up first, like a closing terminal; what ignores it is killed: the instance is stopping.
      for (const s of open) s.hangup();
      await new Promise(r => setTimeout(r, HANGUP_GRACE_MS));
      for (const s of open) s.kill();
    }
  };
}
