/**
 * The SSH channel protocol exists twice, because the gateway and the agent build apart
 * (`server/src/ssh/agent-protocol.ts`, `kernel-gateway/src/platform/ssh/protocol.ts`): the
 * two copies must stay the same, constants and message shapes alike.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as agentSide from '../../kernel-gateway/src/platform/ssh/protocol';
import * as gatewaySide from '../../server/src/ssh/agent-protocol';
import { ROOT } from '../utils/gateway-process';

/** The file without its leading doc comment (which names the other copy). */
async function body(path: string): Promise<string> {
  const text = await readFile(join(ROOT, path), 'utf8');
  return text.slice(text.indexOf('*/') + 2).trim();
}

describe('SSH channel protocol', () => {
  it('should be the same on both sides', async () => {
    expect(await body('server/src/ssh/agent-protocol.ts')).toBe(await body('kernel-gateway/src/platform/ssh/protocol.ts'));
    expect(Object.keys(gatewaySide).sort()).toEqual(Object.keys(agentSide).sort());
    expect(gatewaySide.SSH_SESSION_PATH).toBe(agentSide.SSH_SESSION_PATH);
    expect(gatewaySide.SSH_TCP_PATH).toBe(agentSide.SSH_TCP_PATH);
    expect([gatewaySide.STREAM_STDOUT, gatewaySide.STREAM_STDERR]).toEqual([agentSide.STREAM_STDOUT, agentSide.STREAM_STDERR]);
    expect(gatewaySide.SSH_SIGNALS).toEqual(agentSide.SSH_SIGNALS);
  });
});
