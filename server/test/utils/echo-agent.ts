/**
 * A stand-in instance agent for proxy tests: answers HTTP with what it received and echoes
 * WebSocket messages (STYLE.md §24: real HTTP+WS upstreams on port 0).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

export interface EchoAgent {
  endpoint: { host: string; port: number };
  /** Requests seen: method, url and the Authorization header the gateway sent. */
  seen: { method: string; url: string; authorization: string | undefined; cookie: string | undefined }[];
  /** The activity feed the agent reports at `api/nbg/activity` (null: answer 404). */
  activity: Record<string, unknown> | (() => Record<string, unknown>) | null;
  dispose(): Promise<void>;
}

export async function startEchoAgent(): Promise<EchoAgent> {
  const seen: EchoAgent['seen'] = [];
  const agent: Partial<EchoAgent> = { seen, activity: null };
  const server: Server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, cookie: req.headers.cookie });
    if (req.url?.endsWith('/api/nbg/activity')) {
      if (!agent.activity) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not found","reason":null}');
        return;
      }
      const body = typeof agent.activity === 'function' ? agent.activity() : agent.activity;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ url: req.url, method: req.method }));
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', ws => ws.on('message', (data, binary) => ws.send(data, { binary })));
  await new Promise<void>(r => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(agent, {
    endpoint: { host: '127.0.0.1', port },
    async dispose() {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>(r => wss.close(() => r()));
      server.closeAllConnections();
      await new Promise<void>(r => server.close(() => r()));
    }
  }) as EchoAgent;
}
