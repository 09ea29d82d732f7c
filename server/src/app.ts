/**
 * Composition root of the gateway: builds every service from the config and wires them.
 * Wiring only; behaviour lives in the modules.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { hostname } from 'node:os';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import type { Config } from './config';
import type { Logger } from './logger';
import { DisposableStore } from './lifecycle';
import { openDatabase, type ISqlDatabase } from './db/database';
import { migrate } from './db/migrations';
import { UserStore } from './auth/user-store';
import { Authenticator } from './auth/authenticate';
import { ensureFirstAdmin } from './auth/bootstrap';
import { loadCatalogue } from './catalogue/images';
import { CustomImageStore } from './images/custom-image-store';
import { ImageCatalogue } from './images/image-catalogue';
import { SaveImageService } from './images/save-image';
import type { IRuntimeDriver } from './drivers/driver';
import { selectDriver } from './drivers/select';
import { InstanceStore } from './instances/instance-store';
import { InstanceManager } from './instances/manager';
import { InstanceProxy } from './proxy/proxy';
import { isLabPath } from './web/web.routes';
import { registerRoutes } from './api/router';
import type { ApiContext } from './api/context';
import { createJobService, type JobService } from './jobs/setup';
import { StorageService, withStorageEnv } from './storage/service';
import { SqlAuditLog } from './audit/sql-audit-log';
import { actorOf, sourceIpOf, type IAuditLog } from './audit/audit';
import { OpenAudit } from './audit/open-audit';
import { AccessControl } from './policy/access-control';
import { PolicyStore } from './policy/policy-store';
import { FlavorGrantStore } from './policy/flavor-grants';
import { LoginRateLimiter } from './auth/login-rate-limit';
import { TokenHousekeeping } from './auth/token-housekeeping';
import { ActivityRecorder, LeaseManager, LeaseStore, httpFeedReader } from './leases';
import { NoopMetrics, PrometheusMetrics, startMetricsServer, type IMetrics, type MetricsServer } from './metrics';
import { HttpError } from './errors';
import { capPendingConnections, clientErrorHandler, frameworkErrorHandler, serverOptions } from './api/http-hardening';
import { SshService, isSshChannelPath, sshAuditRecorder } from './ssh';

export interface AppOptions {
  log: Logger;
  version: string;
  /** Overrides the configured runtime (tests use the fake drivers). */
  driver?: IRuntimeDriver;
}

export interface App {
  readonly config: Config;
  readonly server: Server;
  readonly db: ISqlDatabase;
  readonly instances: InstanceManager;
  readonly users: UserStore;
  readonly audit: IAuditLog;
  /** Access control (SPEC §9): policies, tenancy, token scopes; also for the SSH gateway. */
  readonly access: AccessControl;
  /** Activity the gateway sees, for idle auto-stop; the SSH gateway calls `touch(instanceId)`. */
  readonly activity: ActivityRecorder;
  readonly leases: LeaseManager;
  /** Training jobs (issue 9): manager, scheduler, job-agent API. */
  readonly jobs: JobService;
  /** Prometheus metrics; other areas record SSH sessions, sync bytes and job states here. */
  readonly metrics: IMetrics;
  /** The `/metrics` URL once listening (null when `metricsPort` is -1). */
  readonly metricsUrl: string | null;
  /** SSH keys, per-instance SSH settings and the SSH server (issue 6). */
  readonly ssh: SshService;
  /** Where the first admin's generated password was written, when it was generated now. */
  readonly initialPasswordFile: string | undefined;
  listen(): Promise<{ port: number; url: string }>;
  dispose(): Promise<void>;
}

export async function createApp(config: Config, opts: AppOptions): Promise<App> {
  const { log } = opts;
  const store = new DisposableStore();
  try {
    const db = store.add(await openDatabase(config.databaseUrl));
    await migrate(db);
    const users = new UserStore(db);
    const audit = store.add(new SqlAuditLog({ db, retentionDays: config.auditRetentionDays, log: log.child({ svc: 'audit' }) }));
    audit.start();
    const policies = new PolicyStore(db);
    const grants = new FlavorGrantStore(db);
    const access = new AccessControl({ policies, grants, users });
    const loginLimiter = new LoginRateLimiter({ db, maxFailures: config.loginMaxFailures, windowMs: config.loginWindowSeconds * 1000 });
    store.add(new TokenHousekeeping(users, log.child({ svc: 'auth' }))).start();
    const first = await ensureFirstAdmin(users, config, log);
    const customImages = new CustomImageStore(db);
    const images = new ImageCatalogue(loadCatalogue(config.catalogueFile), customImages);
    // withStorageEnv: `obs` instances' agents start with the object-storage file browser.
    const driver = withStorageEnv(store.add(opts.driver ?? (await selectDriver(config, log))));
    const instanceStore = new InstanceStore(db);
    const instances = new InstanceManager({
      store: instanceStore,
      driver,
      images,
      flavors: config.flavors,
      quota: config.instanceQuota,
      startTimeoutMs: config.startTimeoutMs,
      pollIntervalMs: config.pollIntervalMs,
      volumeRetentionDays: config.volumeRetentionDays,
      replicaId: `${hostname()}:${config.dataDir}`,
      log: log.child({ svc: 'instances' }),
      access,
      kernelPrespawn: config.kernelPrespawn
    });
    store.add(instances);
    const metrics: IMetrics = config.metricsPort >= 0 ? new PrometheusMetrics(db) : new NoopMetrics();
    // Object storage (issue 7): the configured store (embedded: <dataDir>/objects), users'
    // roots, and the scoped access every running instance's agent is given.
    const storage = store.add(new StorageService({ config, db, instances, instanceStore, log: log.child({ svc: 'storage' }) }));
    const objects = storage.store;
    // Training jobs outlive the gateway: disposing stops polling, never the jobs.
    const jobs = store.add(createJobService({
      config, db, objects, images, access, instances, runtimeKind: driver.kind, storageRootOf: user => storage.rootOf(user),
      replicaId: `${hostname()}:${config.dataDir}`, log
    }));
    metrics.setJobsSource(() => jobs.countByStatus());
    instances.on('startCompleted', (_id: string, outcome: 'success' | 'failure', seconds: number) => metrics.instanceStarted(driver.kind, outcome, seconds));
    const leaseStore = new LeaseStore(db);
    const activity = store.add(new ActivityRecorder({ leases: leaseStore, flushIntervalMs: Math.min(config.leaseCheckIntervalMs, 5_000), log }));
    activity.start();
    const leases = store.add(new LeaseManager({
      leases: leaseStore, instances, instanceStore, access, activity, feed: httpFeedReader(), audit,
      checkIntervalMs: config.leaseCheckIntervalMs, log: log.child({ svc: 'leases' })
    }));
    const auth = new Authenticator(users);
    const ssh = store.add(new SshService({
      db, users, instances, dataDir: config.dataDir, host: config.sshHost || config.host, port: config.sshPort,
      publicAddress: config.sshPublicAddress, publicUrl: config.publicUrl, log: log.child({ svc: 'ssh' }),
      imageAllowsSsh: async (image, ownerId) => (await images.resolve(null, image, ownerId))?.ssh ?? true,
      onActivity: id => activity.touch(id),
      onAudit: sshAuditRecorder(audit, log),
      metrics
    }));

    const opens = new OpenAudit({ audit });
    const proxy = new InstanceProxy({
      log: log.child({ svc: 'proxy' }),
      onActivity: id => activity.touch(id),
      onResponse: code => metrics.proxyRequest(code),
      resolve: async (req, id, url) => {
        const principal = await auth.authenticate(req, { allowQueryToken: true, url, websocket: req.headers.upgrade !== undefined });
        const sourceIp = sourceIpOf(req, config.trustProxy);
        try {
          const target = await instances.resolveOpen(principal, id);
          await opens.note(actorOf(principal), sourceIp, { type: 'notebook', id, name: target.name, ownerId: target.ownerId }, 'success');
          return target;
        } catch (err) {
          const code = err instanceof HttpError ? err.code : 'NB_ERR_INTERNAL';
          await opens.note(actorOf(principal), sourceIp, { type: 'notebook', id }, 'failure', { code });
          throw err;
        }
      }
    });

    metrics.setWebSocketSource(() => proxy.openSockets);
    let metricsServer: MetricsServer | null = null;
    const limits = { headersTimeoutMs: config.httpHeadersTimeoutMs, requestTimeoutMs: config.httpRequestTimeoutMs, maxPendingPerAddress: config.httpMaxPendingPerAddress };
    let server!: Server;
    const fastify = Fastify({
      loggerInstance: log.child({ svc: 'api' }) as unknown as FastifyBaseLogger,
      bodyLimit: 1 << 20,
      trustProxy: false,
      // Refusals before any route runs get the catalogue body too (issue 11).
      clientErrorHandler: clientErrorHandler(log.child({ svc: 'http' })),
      frameworkErrors: frameworkErrorHandler,
      serverFactory: handler => {
        server = createServer(serverOptions(limits), (req: IncomingMessage, res: ServerResponse) => {
          const id = InstanceProxy.match(req.url);
          // `/notebooks/<id>/lab…` is the lab page and its API, served here, not by the agent;
          // the agent's SSH channel endpoints are for the SSH server only (404 here).
          if (id && !isLabPath(req.url) && !isSshChannelPath(req.url)) void proxy.handleRequest(req, res, id);
          else handler(req, res);
        });
        capPendingConnections(server, limits, log.child({ svc: 'http' }));
        return server;
      }
    });
    const saveImage = new SaveImageService({
      store: customImages, catalogue: images, instances, ops: driver.images, runtimeKind: driver.kind,
      maxBytes: config.imageMaxBytes, registry: config.registry, audit, access, log: log.child({ svc: 'images' }),
      usage: [(ownerId, image) => jobs.manager.imageUsers(ownerId, image)]
    });
    store.add(saveImage);
    await saveImage.cleanupUnfinished();
    await saveImage.resumePushes();
    const ctx: ApiContext = { jobs, config, log, db, users, auth, instances, images, saveImage, version: opts.version, audit, access, policies, grants, loginLimiter, leases, activity, metrics, ssh, storage };
    registerRoutes(fastify, ctx);
    await fastify.ready();

    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const id = InstanceProxy.match(req.url);
      if (id && !isSshChannelPath(req.url)) void proxy.handleUpgrade(req, socket, head, id);
      else socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
    const sockets = new Set<Socket>();
    server.on('connection', (s: Socket) => {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    });
    // Teardown order (reverse of registration): stop accepting, close proxied sockets, then
    // let the manager finish its background work, then the driver and the database.
    store.defer(() => proxy.dispose());
    store.defer(async () => {
      await new Promise<void>(resolve => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => {
          for (const s of sockets) s.destroy();
        }, 2_000).unref();
      });
    });

    await instances.start();
    leases.start();
    await storage.start();

    return {
      jobs, config, server, db, instances, users, audit, access, activity, leases, metrics, ssh,
      initialPasswordFile: first.passwordFile,
      get metricsUrl() {
        return metricsServer?.url ?? null;
      },
      async listen() {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(config.port, config.host, () => resolve());
        });
        await ssh.listen();
        const port = (server.address() as AddressInfo).port;
        const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
        const url = config.publicUrl || `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
        // Launchers on this host reach the gateway on loopback when it listens on all addresses.
        await jobs.start(`http://${config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host}:${port}`);
        log.info({ url, runtime: driver.kind }, 'listening');
        if (config.metricsPort >= 0 && !metricsServer) {
          // Its own listener (STYLE.md §16): scrapes need no credentials and stay off the public port.
          metricsServer = store.add(await startMetricsServer(metrics, config.metricsHost, config.metricsPort, log));
          log.info({ url: metricsServer.url }, 'metrics listening');
        }
        return { port, url };
      },
      dispose: () => store.dispose()
    };
  } catch (err) {
    await store.dispose().catch(() => undefined);
    throw err;
  }
}
