/**
 * Slow clients on the gateway's SSH port (issue 11): connections that open TCP and never
 * authenticate must not lock other people out of SSH.
 *
 * The gateway admits sockets itself before ssh2 sees them (`ssh/pending-connections.ts`): at
 * most `MAX_UNAUTHENTICATED_PER_ADDRESS` unauthenticated connections per address (1,024 in
 * all), and a socket that sends no identification line within `HELLO_TIMEOUT_MS` is closed
 * (ssh2 never reports such a socket, so its login grace timer would never start).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { Client } from 'ssh2';
import { HELLO_TIMEOUT_MS, MAX_UNAUTHENTICATED_PER_ADDRESS } from '../../server/src/ssh/ssh-gateway';
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

  it('should keep serving other addresses while one holds hundreds of idle unauthenticated connections', async () => {
    expect(await handshake('127.0.0.2')).toBe(true);
    let refused = 0;
    for (let i = 0; i < 300; i++) {
      // A client that says hello and then stalls, before the key exchange.
      const s = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.1' }, () => s.write('SSH-2.0-slowloris\r\n'));
      s.on('error', () => undefined);
      s.once('close', () => refused++);
      idle.push(s);
    }
    await new Promise(r => setTimeout(r, 1_000));
    expect(await handshake('127.0.0.2')).toBe(true);
    // Everything over the per-address cap was closed at once; the rest wait for their grace period.
    expect(refused).toBeGreaterThanOrEqual(300 - MAX_UNAUTHENTICATED_PER_ADDRESS);
  }, 60_000);

  it('should close a connection that never says hello within the hello timeout', async () => {
    const s = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.3' });
    s.on('error', () => undefined);
    idle.push(s);
    const closed = new Promise<boolean>(resolve => s.once('close', () => resolve(true)));
    // Read what the server sends (its own identification), or the end of the stream is never seen.
    s.resume();
    expect(await Promise.race([closed, new Promise<boolean>(r => setTimeout(() => r(false), HELLO_TIMEOUT_MS + 5_000))])).toBe(true);
  }, HELLO_TIMEOUT_MS + 30_000);
});
