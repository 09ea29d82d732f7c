/**
 * Slow clients on the gateway's SSH port (issue 11): connections that open TCP and never
 * authenticate must not lock other people out of SSH.
 *
 * KNOWN WEAKNESS (SSH area, reported in issue 11): unauthenticated connections are capped
 * globally (`MAX_UNAUTHENTICATED`, 256, each held up to `LOGIN_GRACE_MS`, 60 s), not per
 * address, so one client holding 256 idle connections refuses every other SSH user for a
 * minute at a time. A per-address cap (as the HTTP listener has) would fix it. And a TCP
 * connection that never sends its SSH identification line is never reported by ssh2's server
 * (no 'connection' event, so no login grace timer): it is held forever, one file descriptor
 * each. Flip `it.fails` to `it` with the fixes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { Client } from 'ssh2';
import { LOGIN_GRACE_MS } from '../../server/src/ssh/ssh-gateway';
import { startGatewayProcess, type GatewayProcess } from '../utils/gateway-process';

describe('hostile input: slow clients on the SSH port', () => {
  let gw: GatewayProcess;
  let port: number;
  const idle: Socket[] = [];

  beforeAll(async () => {
    gw = await startGatewayProcess();
    port = Number(/ssh -p (\d+)/.exec(gw.output())?.[1]);
    expect(port).toBeGreaterThan(0);
  });

  afterAll(async () => {
    for (const s of idle) s.destroy();
    await gw?.stop();
  });

  /** Whether an SSH client from `from` is served: the server goes through the key exchange. */
  const handshake = (from: string): Promise<boolean> =>
    new Promise(resolve => {
      const c = new Client();
      const done = (ok: boolean): void => {
        c.removeAllListeners();
        c.on('error', () => undefined);
        c.end();
        resolve(ok);
      };
      c.on('handshake', () => done(true));
      c.on('close', () => done(false));
      c.on('error', () => done(false));
      c.connect({ host: '127.0.0.1', port, localAddress: from, username: 'nobody+nothing', readyTimeout: 10_000, tryKeyboard: false, authHandler: () => false });
    });

  it.fails('should keep serving other addresses while one holds hundreds of idle unauthenticated connections', async () => {
    expect(await handshake('127.0.0.2')).toBe(true);
    for (let i = 0; i < 300; i++) {
      // A client that says hello and then stalls, before the key exchange.
      const s = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.1' }, () => s.write('SSH-2.0-slowloris\r\n'));
      s.on('error', () => undefined);
      idle.push(s);
    }
    await new Promise(r => setTimeout(r, 1_000));
    expect(await handshake('127.0.0.2')).toBe(true);
  }, 60_000);

  it.fails('should close a connection that never says hello within the login grace period', async () => {
    const s = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.3' });
    s.on('error', () => undefined);
    idle.push(s);
    const closed = new Promise<boolean>(resolve => s.once('close', () => resolve(true)));
    expect(await Promise.race([closed, new Promise<boolean>(r => setTimeout(() => r(false), LOGIN_GRACE_MS + 5_000))])).toBe(true);
  }, LOGIN_GRACE_MS + 30_000);
});
