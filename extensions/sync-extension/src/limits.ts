/**
 * The Sync OBS limits (SPEC §4) and how they are told to the user.
 */

/** SPEC §4 limits, shown when the agent does not report its own. */
export const DEFAULT_LIMITS: ISyncLimits = { maxFiles: 1024, maxWorkBytes: 500 * 1024 * 1024, workBytes: null };

export interface ISyncLimits {
  maxFiles: number;
  maxWorkBytes: number;
  /** Bytes already in ~/work, when known. */
  workBytes: number | null;
}

export interface ISyncResult {
  files: number;
  bytes: number;
  skipped?: number;
}

export const mb = (n: number): string => `${(n / (1024 * 1024)).toFixed(n < 10 * 1024 * 1024 ? 1 : 0)} MB`;

/** The confirmation text: what is selected and the limits that apply. */
export function limitsText(paths: readonly string[], l: ISyncLimits): string {
  const room = l.workBytes === null ? '' : ` ~/work holds ${mb(l.workBytes)} now, so at most ${mb(Math.max(0, l.maxWorkBytes - l.workBytes))} more can come.`;
  return `Copy ${paths.length} selected item${paths.length === 1 ? '' : 's'} from object storage into ~/work. Limits: at most ${l.maxFiles} files per sync; ~/work at most ${mb(l.maxWorkBytes)} after it.${room} Unchanged files are skipped; nothing is copied when a limit would be passed.`;
}

