/**
 * Wires the agent side of object storage: the sync API on the agent's routes, and a Unix
 * socket that `nbg-sync` (the command-line tool inside the instance) talks to.
 *
 * #### Notes
 * - The socket lives in the agent's private runtime directory (0700) and is 0600, so only the
 *   instance's user reaches it; it serves sync jobs and listings, never the access route.
 * - Kernels and terminals started by this agent inherit `NBG_SYNC_SOCKET` and find `nbg-sync`
 *   on their `PATH`: both are set on this process's environment before any child starts.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { IDisposable } from '../../../../server/src/lifecycle';
import type { Logger } from '../../logger';
import { Router } from '../../http/router';
import { createHttpServer, type RouteTables } from '../../http/server';
import { WsRouter } from '../../http/ws-router';
import type { StorageAccessHolder } from './access';
import { registerAccessRoutes, registerSyncRoutes } from './handlers';
import { SyncJobManager } from './jobs';

export interface SyncPlatformOptions {
  /** `~/work`. */
  workDir: string;
  cacheDir: string;
  /** The agent's private runtime directory (the socket goes there). */
  runtimeDir: string;
  log: Logger;
}

/** The environment variable `nbg-sync` finds the socket in. */
export const SOCKET_ENV = 'NBG_SYNC_SOCKET';

export function registerSyncPlatform(routes: RouteTables, access: StorageAccessHolder, opts: SyncPlatformOptions): IDisposable & { jobs: SyncJobManager; socketPath: string } {
  const log = opts.log.child({ svc: 'sync' });
  const jobs = new SyncJobManager({ access, workDir: opts.workDir, cacheDir: opts.cacheDir, log });
  registerAccessRoutes(routes.http, access);
  registerSyncRoutes(routes.http, jobs, access);

  const local = new Router();
  registerSyncRoutes(local, jobs, access);
  const ws = new WsRouter(log, 1 << 20);
  const server = createHttpServer({ baseUrl: '/', token: '', routes: { http: local, ws }, log, onActivity: () => undefined });
  const socketPath = join(opts.runtimeDir, 'nbg-sync.sock');
  const listening = (async () => {
    await mkdir(opts.runtimeDir, { recursive: true, mode: 0o700 });
    await rm(socketPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.server.listen(socketPath, () => resolve());
    });
    await chmod(socketPath, 0o600);
  })().catch(err => log.warn('nbg-sync socket not available', { err: (err as Error).message }));

  process.env[SOCKET_ENV] = socketPath;
  // The launcher runs nbg-sync with the agent's own Node (images need not have one).
  process.env.NBG_NODE = process.execPath;
  // The bundle's bin/ holds the nbg-sync launcher (scripts/build.mjs).
  const bin = join(dirname(process.argv[1] ?? ''), 'bin');
  if (existsSync(join(bin, 'nbg-sync')) && !(process.env.PATH ?? '').split(':').includes(bin)) {
    process.env.PATH = `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`;
  }

  let disposed = false;
  return {
    jobs,
    socketPath,
    async dispose() {
      if (disposed) return;
      disposed = true;
      await listening;
      await server.dispose();
      await ws.dispose();
      await jobs.dispose();
      await access.dispose();
      await rm(socketPath, { force: true });
    }
  };
}
