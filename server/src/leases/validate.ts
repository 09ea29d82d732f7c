/**
 * Boundary checks for auto-stop settings (STYLE.md §21).
 */
import { Errors } from '../errors';
import { IDLE_MAX_MINUTES, TIMING_MAX_HOURS, TIMING_MIN_HOURS, type LeaseSettings } from './lease';

/**
 * Validates `{ timingHours, idleMinutes }` (each a number or null; absent = null).
 * @param idleMinMinutes - the configured floor for IDLE (`leaseIdleMinMinutes`).
 * @param field - the name to use in messages (`autoStop` inside an instance body).
 */
export function validateLeaseSettings(body: unknown, idleMinMinutes: number, field = 'lease'): LeaseSettings {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw Errors.VALIDATION(`"${field}" must be an object {"timingHours": 1–${TIMING_MAX_HOURS} or null, "idleMinutes": minutes or null}`);
  }
  const o = body as Record<string, unknown>;
  const extra = Object.keys(o).filter(k => k !== 'timingHours' && k !== 'idleMinutes');
  if (extra.length) throw Errors.VALIDATION(`"${field}": unknown field(s) ${extra.join(', ')}; allowed: timingHours, idleMinutes`);
  const timing = o.timingHours ?? null;
  if (timing !== null && (typeof timing !== 'number' || !Number.isInteger(timing) || timing < TIMING_MIN_HOURS || timing > TIMING_MAX_HOURS)) {
    throw Errors.VALIDATION(`"${field}.timingHours" must be a whole number of hours from ${TIMING_MIN_HOURS} to ${TIMING_MAX_HOURS}, or null for no TIMING stop; got ${JSON.stringify(timing)}`);
  }
  const idle = o.idleMinutes ?? null;
  if (idle !== null && (typeof idle !== 'number' || !Number.isFinite(idle) || idle < idleMinMinutes || idle > IDLE_MAX_MINUTES)) {
    throw Errors.VALIDATION(`"${field}.idleMinutes" must be from ${idleMinMinutes} to ${IDLE_MAX_MINUTES} minutes, or null for no IDLE stop; got ${JSON.stringify(idle)}`);
  }
  return { timingHours: timing as number | null, idleMinutes: idle as number | null };
}
