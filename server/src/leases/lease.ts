/**
 * Auto-stop leases (SPEC §6): TIMING stops an instance a set number of hours after it
 * started or was last renewed; IDLE stops it after N minutes without activity. Either,
 * both, or neither.
 */

export const TIMING_MIN_HOURS = 1;
export const TIMING_MAX_HOURS = 72;
/** A week: longer idle timeouts are better expressed as no IDLE lease. */
export const IDLE_MAX_MINUTES = 10_080;

/** What a user asks for. */
export interface LeaseSettings {
  timingHours: number | null;
  idleMinutes: number | null;
}

/** A lease as stored. */
export interface LeaseRecord extends LeaseSettings {
  instanceId: string;
  renewedAt: number | null;
  lastActivityAt: number | null;
  /** Bumped by every change and by a stop claim: the compare-and-set token. */
  version: number;
  updatedAt: number;
}

/** Why the system stopped an instance. */
export type StopReason = 'timing' | 'idle';

/**
 * When the TIMING lease ends: hours after the later of the start and the last renewal.
 * @returns epoch ms, or null without a TIMING lease or a start.
 */
export function timingExpiry(lease: Pick<LeaseRecord, 'timingHours' | 'renewedAt'>, startedAt: number | null): number | null {
  if (lease.timingHours === null || startedAt === null) return null;
  return Math.max(startedAt, lease.renewedAt ?? 0) + lease.timingHours * 3_600_000;
}

/** The latest activity known from the record (start, renewal, recorded activity). */
export function knownActivity(lease: Pick<LeaseRecord, 'renewedAt' | 'lastActivityAt'>, startedAt: number | null): number {
  return Math.max(startedAt ?? 0, lease.renewedAt ?? 0, lease.lastActivityAt ?? 0);
}
