/**
 * Formatting for people: countdowns, sizes, times, and the tone of a state.
 */

export { countdown } from '../../../../extensions/lab-services/src/browser';

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v < 10 && i > 0 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** `3 min ago`, `in 2 h`: for lists. */
export function relative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '—';
  const diff = t - now;
  const a = Math.abs(diff) / 1000;
  const [v, u] = a < 60 ? [Math.round(a), 's'] : a < 3600 ? [Math.round(a / 60), 'min'] : a < 86_400 ? [Math.round(a / 3600), 'h'] : [Math.round(a / 86_400), 'd'];
  return diff < 0 ? `${v} ${u} ago` : `in ${v} ${u}`;
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '—' : d.toLocaleString();
}

export type Tone = 'ok' | 'busy' | 'idle' | 'bad';

/** How a state reads at a glance (instances and jobs). */
export function toneOf(status: string): Tone {
  switch (status) {
    case 'RUNNING':
    case 'SUCCEEDED':
      return 'ok';
    case 'ERROR':
    case 'FAILED':
      return 'bad';
    case 'STOPPED':
    case 'CANCELED':
      return 'idle';
    default:
      return 'busy';
  }
}

/** States that change by themselves: the console polls while any is shown. */
export function isTransitional(status: string): boolean {
  return ['CREATING', 'STARTING', 'STOPPING', 'SNAPSHOTTING', 'DELETING', 'INITIALIZING', 'DEPLOYING', 'RUNNING_JOB'].includes(status);
}
