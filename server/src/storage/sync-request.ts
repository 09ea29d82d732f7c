/**
 * A sync as users ask for it (REST body, `nbg-sync`), checked and normalised. Pure; the
 * gateway and the agent both parse with it, and map `SyncRequestError` to their dialects.
 */
import { normaliseKeyPath, normalisePrefix } from './paths';

export type SyncKind = 'obs' | 'push' | 'pull';

/** A sync as asked for, with paths normalised (all relative). */
export interface SyncRequest {
  kind: SyncKind;
  /** Sync OBS: objects (`a.csv`) and prefixes (`data/`) relative to the instance's OBS path. */
  sources: string[] | null;
  /** `~/work` sub-path: what is pushed, where a pull or Sync OBS lands ('' for `~/work`). */
  path: string;
  /** Push/pull: prefix relative to the user's storage root; null: the instance's default. */
  prefix: string | null;
  delete: boolean;
  maxDelete: number;
  dryRun: boolean;
  concurrency: number;
}

/** A bad request: `path` problems are paths that are malformed or leave the root. */
export class SyncRequestError extends Error {
  constructor(message: string, readonly kind: 'validation' | 'path') {
    super(message);
    this.name = 'SyncRequestError';
  }
}

const KINDS: readonly SyncKind[] = ['obs', 'push', 'pull'];
const FIELDS = ['kind', 'sources', 'path', 'prefix', 'delete', 'maxDelete', 'dryRun', 'concurrency'];
export const DEFAULT_CONCURRENCY = 16;

/**
 * Parses a sync request body.
 * @param limits.maxSources - most entries in `sources`.
 * @throws SyncRequestError naming the field and what is allowed.
 */
export function parseSyncRequest(body: unknown, limits: { maxSources: number }): SyncRequest {
  const bad = (m: string): SyncRequestError => new SyncRequestError(m, 'validation');
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw bad('the body must be a JSON object');
  const o = body as Record<string, unknown>;
  const unknown = Object.keys(o).filter(k => !FIELDS.includes(k));
  if (unknown.length) throw bad(`unknown field(s) ${unknown.join(', ')}; allowed: ${FIELDS.join(', ')}`);
  if (!KINDS.includes(o.kind as SyncKind)) {
    throw bad(`"kind" must be "obs" (Sync OBS: selected objects → ~/work), "push" (~/work → a prefix) or "pull" (a prefix → ~/work); got ${JSON.stringify(o.kind)}`);
  }
  const kind = o.kind as SyncKind;
  const bool = (k: string): boolean => {
    if (o[k] === undefined) return false;
    if (typeof o[k] !== 'boolean') throw bad(`"${k}" must be true or false`);
    return o[k] as boolean;
  };
  const int = (k: string, min: number, max: number, dflt: number): number => {
    if (o[k] === undefined) return dflt;
    if (!Number.isInteger(o[k]) || (o[k] as number) < min || (o[k] as number) > max) throw bad(`"${k}" must be an integer from ${min} to ${max}`);
    return o[k] as number;
  };
  const path = (k: string, v: unknown, norm: (v: string) => string): string => {
    if (typeof v !== 'string') throw bad(`"${k}" must be a string`);
    try {
      return norm(v);
    } catch (err) {
      throw new SyncRequestError(`"${k}": ${(err as Error).message}`, 'path');
    }
  };

  let sources: string[] | null = null;
  if (kind === 'obs') {
    if (!Array.isArray(o.sources) || o.sources.length === 0) {
      throw bad('"sources" is required for Sync OBS: the objects ("data/a.csv") and prefixes ("data/") to copy, relative to the instance\'s OBS path');
    }
    if (o.sources.length > limits.maxSources) throw bad(`"sources" may name at most ${limits.maxSources} objects or prefixes`);
    sources = o.sources.map((s, i) => path(`sources[${i}]`, s, normaliseKeyPath));
    if (o.prefix !== undefined) throw bad('"prefix" is for push and pull; Sync OBS copies from the instance\'s OBS path');
    if (o.delete !== undefined) throw bad('"delete" is for push and pull; Sync OBS never deletes');
  } else if (o.sources !== undefined) {
    throw bad('"sources" is for Sync OBS (kind "obs"); push and pull copy a whole prefix');
  }
  const del = bool('delete');
  if (o.maxDelete !== undefined && !del) throw bad('"maxDelete" only applies with "delete": true');
  return {
    kind,
    sources,
    path: o.path === undefined ? '' : path('path', o.path, normalisePrefix).replace(/\/$/, ''),
    prefix: o.prefix === undefined ? null : path('prefix', o.prefix, normalisePrefix),
    delete: del,
    maxDelete: int('maxDelete', 0, 1_000_000, 100),
    dryRun: bool('dryRun'),
    concurrency: int('concurrency', 1, 64, DEFAULT_CONCURRENCY)
  };
}
