/**
 * `direct-tcpip` channels (`ssh -L`, `ssh -D`, `ssh -W`, VS Code's forwarded ports): the
 * agent connects to the port inside the instance and the bytes are spliced through.
 *
 * #### Notes
 * The channel is confirmed only once the agent has connected, so a port where nothing
 * listens is refused with the reason ("open failed: connect failed: nothing listens on …"),
 * as sshd refuses it; which destinations are allowed is the agent's rule (loopback only).
 */
import type { Connection, ServerChannel, TcpipRequestInfo } from 'ssh2';
import { AgentRefusedError, openAgentSocket, type AgentLink } from './agent-link';
import { SSH_TCP_PATH, type TcpEvent } from './agent-protocol';
import { describeAgentError } from './channel-errors';
import { corkForTick, forwardChannelToAgent } from './channel-flow';
import type { ChannelContext } from './session-bridge';
import { OPEN_FAILURE, rejectChannel } from './ssh2-extras';

const CONNECT_TIMEOUT_MS = 15_000;

/** Serves one `direct-tcpip` open request. */
export async function bridgeTcp(client: Connection, accept: () => ServerChannel, reject: () => void, info: TcpipRequestInfo, ctx: ChannelContext): Promise<void> {
  const where = `${info.destIP}:${info.destPort}`;
  let link: AgentLink;
  let first: TcpEvent;
  try {
    link = await openAgentSocket(await ctx.resolve(), SSH_TCP_PATH, { host: info.destIP, port: String(info.destPort) });
    first = await link.first<TcpEvent>(CONNECT_TIMEOUT_MS);
  } catch (err) {
    if (err instanceof AgentRefusedError && err.status === 403) {
      return rejectChannel(client, reject, OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED, `only ports inside the instance can be forwarded (localhost, 127.0.0.1, ::1), not ${info.destIP}`);
    }
    return rejectChannel(client, reject, OPEN_FAILURE.CONNECT_FAILED, describeAgentError(err));
  }
  const ws = link.ws;
  if (first.t !== 'connected') {
    ws.close();
    return rejectChannel(client, reject, OPEN_FAILURE.CONNECT_FAILED, first.t === 'error' ? first.message : `cannot connect to ${where}`);
  }
  const channel = accept();
  if (!channel) {
    ws.close();
    return;
  }
  splice(channel, link, ctx);
}

function splice(channel: ServerChannel, link: AgentLink, ctx: ChannelContext): void {
  const ws = link.ws;
  let wsPaused = false;
  link.deliver((data, isBinary) => {
    if (!isBinary) {
      // The port's side ended (half-close): end ours. ssh2 closes the channel with it.
      if (data.toString().includes('"eof"')) channel.end();
      return;
    }
    ctx.onActivity();
    corkForTick(ctx.socket);
    if (!channel.write(data) && !wsPaused) {
      wsPaused = true;
      ws.pause();
      channel.once('drain', () => {
        wsPaused = false;
        ws.resume();
      });
    }
  });
  forwardChannelToAgent(channel, ws, ctx.onActivity);
  const closeWs = (): void => ws.close();
  channel.on('close', closeWs);
  channel.on('error', closeWs);
  link.onClose(() => channel.end());
}
