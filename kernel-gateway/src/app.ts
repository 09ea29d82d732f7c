/**
 * Composition root of the kernel gateway: wiring only (STYLE.md §2).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { WebSocketServer } from 'ws';
import type { Config } from './config';
import type { Logger } from './logger';
import { DisposableStore } from './lifecycle';
import { JupyterError } from './errors';
import { Router } from './http/router';
import { sendJson } from './http/respond';
import { isAuthorized } from './http/auth';
import { KernelSpecManager, kernelSpecDirs } from './services/kernelspecs/manager';
import { registerKernelSpecRoutes } from './services/kernelspecs/handlers';
import { KernelManager, isDirectory } from './services/kernels/manager';
import { registerKernelRoutes, handleChannelsUpgrade } from './services/kernels/handlers';
import { V1_PROTOCOL } from './services/kernels/ws-serialize';
import { registerApiRoutes } from './services/api/handlers';
import { resolveApiPath } from './services/contents/paths';

export interface App {
  readonly server: Server;
  readonly kernels: KernelManager;
  /** Starts listening; resolves with the bound port. */
  listen(): Promise<number>;
  dispose(): Promise<void>;
}

export function createApp(config: Config, log: Logger): App {
  const store = new DisposableStore();
  const started = new Date();
  let lastActivity = started;
  const touch = (): void => {
    lastActivity = new Date();
  };

  const specs = new KernelSpecManager(kernelSpecDirs(config.jupyterPath));
  const kernels = new KernelManager(
    specs,
    {
      runtimeDir: config.runtimeDir,
      transport: config.transport,
      startTimeoutMs: config.kernelStartTimeoutMs,
      shutdownGraceMs: config.kernelShutdownGraceMs,
      reconnectWindowMs: 30_000,
      maxBufferedBytes: 32 << 20,
      maxMessageBytes: 64 << 20,
      onActivity: touch,
      resolveCwd: async path => {
        const abs = await resolveApiPath(config.rootDir, path);
        if (await isDirectory(abs)) return abs;
        return resolveApiPath(config.rootDir, path.split('/').slice(0, -1).join('/'));
      }
    },
    log
  );
  store.add(kernels);

  const router = new Router();
  registerApiRoutes(router, kernels, {
    started,
    lastActivity: () => lastActivity,
    connections: () => {
      let n = 0;
      for (const k of kernels.kernels()) n += k.connections;
      return n;
    }
  });
  registerKernelSpecRoutes(router, specs, config.baseUrl);
  registerKernelRoutes(router, kernels, config.baseUrl);

  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: 256 << 20,
    handleProtocols: protocols => (protocols.has(V1_PROTOCOL) ? V1_PROTOCOL : false)
  });
  store.defer(() => new Promise<void>(resolve => wss.close(() => resolve())));

  const relative = (url: URL): string | null =>
    url.pathname === config.baseUrl.slice(0, -1) || url.pathname.startsWith(config.baseUrl)
      ? url.pathname.slice(config.baseUrl.length)
      : null;

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://kg');
    const rel = relative(url);
    try {
      if (rel === null) throw new JupyterError(404, `Not found: ${url.pathname}`);
      if (!isAuthorized(config.token, req, url)) throw new JupyterError(403, 'Forbidden: a valid token is required');
      touch();
      const match = router.match(req.method ?? 'GET', rel);
      if (match.kind === 'not-found') throw new JupyterError(404, `Not found: ${url.pathname}`);
      if (match.kind === 'method-not-allowed') {
        throw new JupyterError(405, `Method ${req.method} not allowed; allowed: ${match.allowed.join(', ')}`);
      }
      await match.handler(req, res, match.params, url);
    } catch (err) {
      respondError(res, err);
    }
  }

  function respondError(res: ServerResponse, err: unknown): void {
    const e = err instanceof JupyterError ? err : new JupyterError(500, (err as Error)?.message ?? String(err));
    if (e.status >= 500) log.error('request failed', { err });
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendJson(res, e.status, e.toBody());
  }

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://kg');
    const rel = relative(url);
    const refuse = (status: number, reason: string): void => {
      socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (rel === null) return refuse(404, 'Not Found');
    if (!isAuthorized(config.token, req, url)) return refuse(403, 'Forbidden');
    try {
      touch();
      if (!handleChannelsUpgrade(kernels, wss, rel, url, req, socket, head)) refuse(404, 'Not Found');
    } catch (err) {
      const status = err instanceof JupyterError ? err.status : 500;
      if (status >= 500) log.error('upgrade failed', { err });
      refuse(status, status === 404 ? 'Not Found' : 'Error');
    }
  }

  const server = createServer({ keepAliveTimeout: 30_000, headersTimeout: 20_000, requestTimeout: 0 }, (req, res) => {
    void onRequest(req, res);
  });
  server.on('upgrade', onUpgrade);
  const sockets = new Set<Socket>();
  server.on('connection', s => {
    s.setNoDelay(true);
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  store.defer(async () => {
    await new Promise<void>(resolve => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
  });
  store.defer(() => rm(config.runtimeDir, { recursive: true, force: true }));

  return {
    server,
    kernels,
    async listen() {
      await mkdir(config.runtimeDir, { recursive: true, mode: 0o700 });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => resolve());
      });
      const port = (server.address() as AddressInfo).port;
      if (config.portFile) {
        // Write then rename so a reader never sees a partial file.
        await writeFile(`${config.portFile}.tmp`, String(port));
        const { rename } = await import('node:fs/promises');
        await rename(`${config.portFile}.tmp`, config.portFile);
      }
      log.info('listening', { host: config.host, port, baseUrl: config.baseUrl });
      return port;
    },
    dispose: () => store.dispose()
  };
}
