/**
 * Composition root of the kernel gateway: wiring only (STYLE.md §2). Each area registers its
 * HTTP and WebSocket routes with one `registerXRoutes(routes, …)` line.
 */
import type { Server } from 'node:http';
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import type { Config } from './config';
import type { Logger } from './logger';
import { DisposableStore } from '../../server/src/lifecycle';
import { Router } from './http/router';
import { WsRouter } from './http/ws-router';
import { createHttpServer, type RouteTables } from './http/server';
import { ActivityTracker } from './platform/activity/tracker';
import { registerActivityRoutes } from './platform/activity/handlers';
import { registerSshRoutes } from './platform/ssh/handlers';
import { registerConvertRoutes } from './platform/convert/handlers';
import { StorageAccessHolder } from './platform/sync/access';
import { registerSyncPlatform } from './platform/sync/setup';
import { KernelSpecManager, kernelSpecDirs } from './services/kernelspecs/manager';
import { registerKernelSpecRoutes } from './services/kernelspecs/handlers';
import { KernelManager, isDirectory } from './services/kernels/manager';
import { registerKernelRoutes } from './services/kernels/handlers';
import { registerApiRoutes } from './services/api/handlers';
import { resolveApiPath } from './services/contents/paths';
import { FsContentsProvider } from './services/contents/fs-contents';
import { S3ContentsProvider } from './services/contents/s3-contents';
import { registerContentsRoutes } from './services/contents/handlers';
import type { IContentsProvider } from './services/contents/provider';
import { SessionManager } from './services/sessions/manager';
import { registerSessionRoutes } from './services/sessions/handlers';
import { TerminalManager } from './services/terminals/manager';
import { registerTerminalRoutes } from './services/terminals/handlers';
import { CONTENTS_EVENT, EventBus, KERNEL_ACTION_EVENT } from './services/events/bus';
import { registerEventRoutes } from './services/events/handlers';

export interface App {
  readonly server: Server;
  readonly kernels: KernelManager;
  readonly activity: ActivityTracker;
  readonly terminals: TerminalManager;
  /** Starts listening; resolves with the bound port. */
  listen(): Promise<number>;
  /** Stops accepting, closes WebSockets, stops kernels and terminals. Idempotent. */
  dispose(): Promise<void>;
}

export function createApp(config: Config, log: Logger): App {
  const store = new DisposableStore();
  store.defer(() => rm(config.runtimeDir, { recursive: true, force: true }));
  const activity = new ActivityTracker();
  const events = new EventBus();

  const specs = new KernelSpecManager(kernelSpecDirs(config.jupyterPath));
  const kernels = store.add(
    new KernelManager(
      specs,
      {
        runtimeDir: config.runtimeDir,
        transport: config.transport,
        startTimeoutMs: config.kernelStartTimeoutMs,
        shutdownGraceMs: config.kernelShutdownGraceMs,
        restartLimit: config.kernelRestartLimit,
        restartWindowMs: 60_000,
        prespawn: config.kernelPrespawn,
        reconnectWindowMs: config.kernelReconnectWindowMs,
        maxBufferedBytes: config.kernelMaxBufferedBytes,
        maxMessageBytes: config.maxWebSocketMessageBytes,
        onActivity: () => activity.touch(),
        onAction: event => events.emit(KERNEL_ACTION_EVENT, 1, { ...event }),
        resolveCwd: async path => {
          const abs = await resolveApiPath(config.rootDir, path);
          if (await isDirectory(abs)) return abs;
          return resolveApiPath(config.rootDir, path.split('/').slice(0, -1).join('/'));
        }
      },
      log
    )
  );
  store.add(activity.addSource(kernels));
  const sessions = new SessionManager(kernels);
  const terminals = store.add(
    new TerminalManager(
      {
        rootDir: config.rootDir,
        resolveCwd: async path => {
          const abs = await resolveApiPath(config.rootDir, path);
          if (!(await isDirectory(abs))) throw new Error(`${path} is not a directory`);
          return abs;
        },
        shell: config.terminalShell,
        scrollbackBytes: 256 << 10,
        killGraceMs: config.kernelShutdownGraceMs,
        onActivity: () => activity.touch()
      },
      log
    )
  );
  store.add(activity.addSource(terminals));

  // Object storage: the access the gateway pushes (sync, and the `obs` file browser).
  const storageAccess = new StorageAccessHolder(log.child({ svc: 'storage' }), { waitMs: 15_000 });
  // The provider is picked once, here (STYLE.md §8).
  const fsContents = new FsContentsProvider({ rootDir: config.rootDir, allowHidden: config.allowHidden, maxReadBytes: config.maxContentsBytes });
  const s3Contents = new S3ContentsProvider({ access: storageAccess, allowHidden: config.allowHidden, maxReadBytes: config.maxContentsBytes, stagingDir: `${config.runtimeDir}/obs-uploads` });
  const contentsProviders: Record<Config['contentsProvider'], () => IContentsProvider> = { fs: () => fsContents, s3: () => s3Contents };
  const contents = contentsProviders[config.contentsProvider]();

  const ws = new WsRouter(log, config.maxWebSocketMessageBytes);
  const routes: RouteTables = { http: new Router(), ws };
  registerApiRoutes(routes, kernels, activity, { username: config.userName });
  registerActivityRoutes(routes, activity, { kernels: () => kernels.list(), terminals: () => terminals.list() });
  registerKernelSpecRoutes(routes, specs, config.baseUrl);
  registerKernelRoutes(routes, kernels, config.baseUrl);
  registerContentsRoutes(routes, contents, {
    baseUrl: config.baseUrl,
    maxBodyBytes: config.maxContentsBytes,
    download: contents === fsContents ? path => fsContents.open(path) : path => s3Contents.open(path),
    onActivity: () => activity.touch(),
    onEvent: (action, path, sourcePath) => events.emit(CONTENTS_EVENT, 1, sourcePath === undefined ? { action, path } : { action, path, source_path: sourcePath })
  });
  registerSessionRoutes(routes, sessions, config.baseUrl);
  registerTerminalRoutes(routes, terminals);
  registerEventRoutes(routes, events);
  registerConvertRoutes(routes, contents);
  store.add(registerSshRoutes(routes, { rootDir: config.rootDir, activity, log }));
  store.add(registerSyncPlatform(routes, storageAccess, { workDir: config.rootDir, cacheDir: config.syncCacheDir, runtimeDir: config.runtimeDir, log }));

  // Disposed in reverse order: WebSockets get a proper close, then the server stops
  // accepting and drops its sockets, then kernels and terminals stop.
  const http = store.add(
    createHttpServer({
      baseUrl: config.baseUrl,
      token: config.token,
      routes,
      log,
      onActivity: kind => {
        if (kind === 'active') activity.touch();
      }
    })
  );
  store.add(ws);

  return {
    server: http.server,
    kernels,
    activity,
    terminals,
    async listen() {
      await mkdir(config.runtimeDir, { recursive: true, mode: 0o700 });
      // Kernel sockets and connection files live here: ours alone, even if it existed before.
      await chmod(config.runtimeDir, 0o700);
      const port = await http.listen(config.port, config.host);
      if (config.portFile) {
        // Write then rename so a reader never sees a partial file.
        await writeFile(`${config.portFile}.tmp`, String(port));
        await rename(`${config.portFile}.tmp`, config.portFile);
      }
      log.info('listening', { host: config.host, port, baseUrl: config.baseUrl });
      // In the background, once we answer: readiness never waits for a spare kernel.
      kernels.startSpares();
      return port;
    },
    dispose: () => store.dispose()
  };
}
