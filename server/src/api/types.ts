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
