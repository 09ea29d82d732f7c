/**
 * Wire types of the REST API (`/api/v1`), imported with `import type` by `web/` and the CLI.
 * The OpenAPI document (`server/api/openapi.yaml`) describes the same shapes.
 */
import type { InstanceStatus, StorageType } from '../instances/instance';
import type { Operation } from '../instances/state-machine';
import type { Chip } from '../catalogue/flavors';

export interface NotebookInstance {
  id: string;
  name: string;
  description: string;
  owner: { id: string; name: string };
  image: string;
  flavor: string;
  /** Flavor the next start switches to (SPEC §4); null when none is pending. */
  nextFlavor: string | null;
  storage: { type: StorageType; sizeGB: number };
  status: InstanceStatus;
  statusReason: string | null;
  /** Operations allowed in the current state (SPEC §1). */
  allowedOperations: Operation[];
  /** Path of the instance's Jupyter API through the gateway, e.g. `/notebooks/<id>/`. */
  url: string;
  runtime: string;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  /** Auto-stop lease (SPEC §6); present on the notebooks API's answers. */
  autoStop?: LeaseInfo;
}

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export interface ImageInfo {
  name: string;
  engine: string;
  engineVersion: string;
  chips: Chip[];
  ssh: boolean;
  jupyterlab: boolean;
  description: string;
  custom: boolean;
}

export interface FlavorInfo {
  id: string;
  chip: Chip;
  cpus: number;
  memoryGiB: number;
  accelerators: number;
  inviteOnly: boolean;
  description: string;
  /** Whether the caller may use it: not invite-only, an administrator, or granted (SPEC §2). */
  granted: boolean;
}

export interface LoginResponse {
  token: string;
  expiresAt: string;
  user: { id: string; name: string; role: 'admin' | 'user' };
}

export interface Health {
  status: 'ok';
  version: string;
  runtime: string;
  database: 'sqlite' | 'postgres';
}

// ---- control plane (issue 5) --------------------------------------------------------------

export interface UserInfo {
  id: string;
  name: string;
  role: 'admin' | 'user';
  disabled: boolean;
  createdAt: string;
}

export interface ApiTokenInfo {
  id: string;
  name: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  /** Action patterns the token is limited to; null = everything its user may do. */
  scope: string[] | null;
}

/** The answer to creating a token: the only time the secret is shown. */
export interface CreatedApiToken extends ApiTokenInfo {
  token: string;
}

export interface FlavorGrantInfo {
  flavor: string;
  grantedBy: string | null;
  grantedAt: string;
}

/** Auto-stop settings of an instance (SPEC §6) and where it stands. */
export interface LeaseInfo {
  /** TIMING: stop this many hours after start or renewal (1–72); null = none. */
  timingHours: number | null;
  /** When the TIMING lease ends, if the instance is running. */
  expiresAt: string | null;
  /** IDLE: stop after this many minutes without activity; null = none. */
  idleMinutes: number | null;
  /** Last activity seen (kernels, terminals, SSH, proxied requests). */
  lastActivityAt: string | null;
  /** When the IDLE rule would stop the instance if nothing happens. */
  idleStopAt: string | null;
}
