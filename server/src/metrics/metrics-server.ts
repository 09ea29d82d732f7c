/**
 * The `/metrics` listener, separate from the public one (STYLE.md §16, CHP `metricsServer`),
 * so scrapes need no credentials and the endpoint is not exposed with the API.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger';
import type { IMetrics } from './metrics';

export interface MetricsServer {
  readonly url: string;
  dispose(): Promise<void>;
}

export async function startMetricsServer(metrics: IMetrics, host: string, port: number, log: Logger): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('only GET /metrics here\n');
      return;
    }
    metrics.render().then(
      ({ contentType, body }) => res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' }).end(body),
      err => {
        log.warn({ err }, 'metrics collection failed');
        res.writeHead(500, { 'Content-Type': 'text/plain' }).end('collection failed\n');
      }
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}/metrics`;
  let disposed = false;
  return {
    url,
    async dispose() {
      if (disposed) return;
      disposed = true;
      server.closeAllConnections();
      await new Promise<void>(r => server.close(() => r()));
    }
  };
}
