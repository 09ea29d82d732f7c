/**
 * Instance types: the persisted record, its states (SPEC §1), and the operations on it.
 */
import type { DriverState, Endpoint, ProgressEvent } from '../drivers/driver';

export const INSTANCE_STATUSES = [
  'CREATING', 'STARTING', 'RUNNING', 'STOPPING', 'STOPPED', 'SNAPSHOTTING', 'ERROR', 'DELETING'
] as const;
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];

export type StorageType = 'local' | 'obs';

/** An instance as stored. `agentToken` and `driverState` never leave the server. */
export interface InstanceRecord {
  id: string;
  ownerId: string;
  ownerName: string;
  name: string;
  description: string;
  image: string;
  flavor: string;
  /** Flavor to switch to at the next start; null when none is pending. */
  nextFlavor: string | null;
  storageType: StorageType;
  storageSizeGB: number;
  status: InstanceStatus;
  statusReason: string | null;
  agentToken: string;
  driver: string;
  driverState: DriverState | null;
  endpoint: Endpoint | null;
  /** Replica running a background operation on it, if any. */
  pending: string | null;
  createdAt: number;
  updatedAt: number;
  startedAt: number | null;
  deletedAt: number | null;
  /** Progress of the current or last start, as the replica running it recorded it. */
  startProgress: StartProgress | null;
}

/** The steps of one start; `run` (when it began, ms) tells one start's events from the next's. */
export interface StartProgress {
  run: number;
  events: ProgressEvent[];
}

/** Where the proxy sends an open instance's traffic. */
export interface OpenTarget {
  instanceId: string;
  endpoint: Endpoint;
  agentToken: string;
  /** For the audit trail. */
  name: string;
  ownerId: string;
}
