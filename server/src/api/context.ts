/**
 * What route modules receive: the services they call, and the principal of each request.
 */
import type { FastifyRequest } from 'fastify';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { Authenticator } from '../auth/authenticate';
import type { Principal } from '../auth/principal';
import type { UserStore } from '../auth/user-store';
import type { ImageCatalogue } from '../images/image-catalogue';
import type { SaveImageService } from '../images/save-image';
import type { InstanceManager } from '../instances/manager';
import type { ISqlDatabase } from '../db/database';
import type { JobService } from '../jobs/setup';
import type { IAuditLog } from '../audit/audit';
import type { AccessControl } from '../policy/access-control';
import type { PolicyStore } from '../policy/policy-store';
import type { FlavorGrantStore } from '../policy/flavor-grants';
import type { LoginRateLimiter } from '../auth/login-rate-limit';
import type { SshService } from '../ssh/ssh-service';
import type { ActivityRecorder, LeaseManager } from '../leases';
import type { IMetrics } from '../metrics';
import type { StorageService } from '../storage/service';

export interface ApiContext {
  /** Training jobs (issue 9): `jobs.manager` for users, `jobs.agent` for job launchers. */
  jobs: JobService;
  config: Config;
  log: Logger;
  db: ISqlDatabase;
  users: UserStore;
  auth: Authenticator;
  instances: InstanceManager;
  /** Preset and custom images (SPEC §3, §5). */
  images: ImageCatalogue;
  saveImage: SaveImageService;
  version: string;
  /** The audit trail (SPEC §9); see docs/architecture.md "Contracts between areas". */
  audit: IAuditLog;
  /** Access control (SPEC §9): `authorize(principal, action, resource)`. */
  access: AccessControl;
  policies: PolicyStore;
  grants: FlavorGrantStore;
  loginLimiter: LoginRateLimiter;
  /** SSH keys, per-instance SSH settings and where users connect (issue 6). */
  ssh: SshService;
  /** Auto-stop leases (SPEC §6). */
  leases: LeaseManager;
  activity: ActivityRecorder;
  /** Prometheus metrics (`metrics/metrics.ts`). */
  metrics: IMetrics;
  /** Object storage: users' roots, instances' access, sync (issue 7). */
  storage: StorageService;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** The authenticated principal of a request. @throws UNAUTHENTICATED */
export async function principalOf(ctx: ApiContext, req: FastifyRequest): Promise<Principal> {
  if (!req.principal) req.principal = await ctx.auth.authenticate(req.raw);
  return req.principal;
}
