/**
 * What the console derives from an instance: its lease (SPEC §6) and where to open it.
 * The lease fields arrive with the auto-stop work; instances without them have no lease.
 */
import type { NotebookInstance } from '../../../../server/src/api/types';

export interface LeaseView {
  /** When a TIMING lease stops the instance. */
  expiresAt: number | null;
  /** IDLE stop after this many minutes without activity. */
  idleMinutes: number | null;
}

type WithLease = NotebookInstance & {
  lease?: { expiresAt?: string | null; timingHours?: number | null; idleMinutes?: number | null } | null;
  autoStop?: { expiresAt?: string | null; stopAt?: string | null; idleMinutes?: number | null } | null;
};

export function leaseOf(inst: NotebookInstance): LeaseView | null {
  const i = inst as WithLease;
  const src = i.lease ?? i.autoStop;
  if (!src) return null;
  const { expiresAt: a, stopAt: b } = src as { expiresAt?: string | null; stopAt?: string | null };
  const at = a ?? b ?? null;
  const expiresAt = at ? Date.parse(at) : null;
  const idle = src.idleMinutes ?? null;
  if (expiresAt === null && idle === null) return null;
  return { expiresAt: Number.isFinite(expiresAt) ? expiresAt : null, idleMinutes: idle };
}

export function labUrl(inst: NotebookInstance): string {
  return `${inst.url.replace(/\/?$/, '/')}lab`;
}

export function can(inst: NotebookInstance, op: string): boolean {
  return (inst.allowedOperations as string[]).includes(op);
}
