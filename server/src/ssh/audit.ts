/**
 * SSH in the audit trail (SPEC §9): a connection is an `openNotebook` (SPEC §1 lists SSH among
 * the ways to open an instance), with `via: "ssh"`; refusals are failed `openNotebook`s with
 * the reason's code; the end of a connection is `disconnectNotebook` with its duration.
 */
import type { IAuditLog } from '../audit/audit';
import type { Logger } from '../logger';
import type { SshAuditEvent } from './ssh-gateway';

/** Turns SSH gateway events into audit records (written in the background; failures logged). */
export function sshAuditRecorder(audit: IAuditLog, log: Logger): (e: SshAuditEvent) => void {
  return e => {
    const resource = e.instance
      ? { type: 'notebook' as const, id: e.instance.id, name: e.instance.name, ownerId: e.instance.ownerId }
      : { type: 'notebook' as const, id: '' };
    // Before a key is proven the login name is only a claim: the actor stays anonymous.
    const actor = e.user ?? { id: null, name: 'unauthenticated' };
    const details: Record<string, unknown> = { via: 'ssh', login: e.login };
    if (e.keyFingerprint) details.key = e.keyFingerprint;
    if (e.code) details.code = e.code;
    if (e.durationMs !== undefined) details.durationMs = e.durationMs;
    void audit
      .record({
        action: e.event === 'disconnect' ? 'disconnectNotebook' : 'openNotebook',
        actor,
        sourceIp: e.sourceIp,
        resource,
        result: e.event === 'refused' ? 'failure' : 'success',
        details
      })
      .catch(err => log.warn({ err }, 'cannot write the ssh audit record'));
  };
}
