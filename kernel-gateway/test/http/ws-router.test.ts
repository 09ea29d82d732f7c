import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { WsRouter } from '../../src/http/ws-router';
import { JupyterError } from '../../src/errors';
import { createLogger } from '../../src/logger';

/** A bare HTTP server whose upgrades go to the router under `/base/`. */
async function serve(router: WsRouter): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) => res.end());
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url!, 'http://x');
    void router.handle(url.pathname.replace(/^\/base\//, ''), url, req, socket, head).then(handled => {
      if (!handled) socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
    });
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', () => r()));
  return { server, url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/base/` };
}

function opened(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
}

function refusedWith(ws: WebSocket): Promise<number> {
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('open', () => reject(new Error('connection was accepted')));
  });
}

describe('WsRouter', () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  async function setup(configure: (r: WsRouter) => void): Promise<string> {
    const router = new WsRouter(createLogger('error', () => undefined), 1 << 20);
    configure(router);
    const { server, url } = await serve(router);
    cleanup.push(() => new Promise<void>(r => server.close(() => r())));
    cleanup.push(() => router.dispose());
    return url;
  }

  describe('#handle()', () => {
    it('should dispatch by pattern with decoded params', async () => {
      const url = await setup(r =>
        r.add('api/things/:id/echo', async ({ params, accept }) => {
          const ws = await accept();
          ws.send(params.id!);
        })
      );
      const ws = new WebSocket(`${url}api/things/a%20b/echo`);
      const msg = await new Promise<string>(resolve => ws.once('message', d => resolve(d.toString())));
      expect(msg).toBe('a b');
      ws.close();
    });

    it('should pick the subprotocol from the matched route only', async () => {
      const url = await setup(r => {
        r.add('v1', async ({ accept }) => void (await accept()), { protocols: ['proto.b', 'proto.a'] });
        r.add('plain', async ({ accept }) => void (await accept()));
      });
      const a = new WebSocket(`${url}v1`, ['proto.a', 'proto.b']);
      await opened(a);
      expect(a.protocol).toBe('proto.b');
      a.close();
      const b = new WebSocket(`${url}plain`);
      await opened(b);
      expect(b.protocol).toBe('');
      b.close();
    });

    it('should answer the status of a JupyterError thrown before accept', async () => {
      const url = await setup(r =>
        r.add('api/kernels/:id/channels', ({ params }) => {
          throw new JupyterError(404, `no kernel ${params.id}`);
        })
      );
      expect(await refusedWith(new WebSocket(`${url}api/kernels/x/channels`))).toBe(404);
    });

    it('should return false for a path no route matches', async () => {
      const url = await setup(r => r.add('known', async ({ accept }) => void (await accept())));
      expect(await refusedWith(new WebSocket(`${url}unknown`))).toBe(404);
    });

    it('should refuse bad percent-encoding with 400', async () => {
      const url = await setup(r => r.add('x/:id', async ({ accept }) => void (await accept())));
      expect(await refusedWith(new WebSocket(`${url}x/%E0%A4%A`))).toBe(400);
    });
  });

  describe('#dispose()', () => {
    it('should close open WebSockets with 1001 and refuse new upgrades', async () => {
      let router!: WsRouter;
      const url = await setup(r => {
        router = r;
        r.add('x', async ({ accept }) => void (await accept()));
      });
      const ws = new WebSocket(`${url}x`);
      await opened(ws);
      expect(router.connections).toBe(1);
      const closed = new Promise<number>(resolve => ws.once('close', code => resolve(code)));
      await router.dispose();
      expect(await closed).toBe(1001);
      await router.dispose();
      expect(await refusedWith(new WebSocket(`${url}x`))).toBe(503);
    });
  });
});
