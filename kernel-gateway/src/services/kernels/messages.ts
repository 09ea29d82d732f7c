/**
 * Messages the gateway itself originates: readiness nudges, interrupt and shutdown requests
 * on the control channel, and the synthetic `status` messages (`restarting`, `dead`) that
 * Jupyter Server publishes to clients when a kernel dies.
 */
import { randomUUID } from 'node:crypto';
import { jsonFrame, type RawMessage } from './wire';

const PROTOCOL_VERSION = '5.3';

/** Builds a new message from this gateway's session. */
export function newMessage(
  msgType: string,
  content: Record<string, unknown>,
  session: string,
  parent: Record<string, unknown> = {}
): { msgId: string; msg: RawMessage } {
  const msgId = randomUUID();
  const header = {
    msg_id: msgId,
    msg_type: msgType,
    username: 'nbgateway',
    session,
    date: new Date().toISOString(),
    version: PROTOCOL_VERSION
  };
  return {
    msgId,
    msg: { header: jsonFrame(header), parentHeader: jsonFrame(parent), metadata: jsonFrame({}), content: jsonFrame(content), buffers: [] }
  };
}

/** A `status` message as if published on iopub. */
export function statusMessage(state: 'starting' | 'restarting' | 'dead' | 'idle' | 'busy', session: string): RawMessage {
  return newMessage('status', { execution_state: state }, session).msg;
}
