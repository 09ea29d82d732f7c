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
  /** When the IDLE rule would stop it if nothing happens. */
  idleStopAt: number | null;
}

const time = (iso: string | null | undefined): number | null => {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isFinite(t) ? t : null;
};

/** The auto-stop lease (SPEC §6) of an instance, or null when it has none. */
export function leaseOf(inst: NotebookInstance): LeaseView | null {
  const a = inst.autoStop;
  if (!a || (a.timingHours === null && a.idleMinutes === null)) return null;
  return { expiresAt: time(a.expiresAt), idleMinutes: a.idleMinutes, idleStopAt: time(a.idleStopAt) };
}

export function labUrl(inst: NotebookInstance): string {
  return `${inst.url.replace(/\/?$/, '/')}lab`;
}

export function can(inst: NotebookInstance, op: string): boolean {
  return (inst.allowedOperations as string[]).includes(op);
}
