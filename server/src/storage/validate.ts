/**
 * Boundary checks for the storage REST API (STYLE.md §21), in the gateway's error catalogue.
 * Shapes are also in openapi.yaml; the rules that need words (paths, ranges) live here.
 */
import { Errors } from '../errors';
import { bucketProblem, normalisePrefix } from './paths';
import { parseSyncRequest, SyncRequestError, type SyncRequest } from './sync-request';

/** Validates a sync request body. @throws VALIDATION / STORAGE_PATH_INVALID naming the field. */
export function validateSyncRequest(body: unknown, limits: { maxFiles: number }): SyncRequest {
  try {
    return parseSyncRequest(body, { maxSources: limits.maxFiles });
  } catch (err) {
    if (err instanceof SyncRequestError) throw err.kind === 'path' ? Errors.STORAGE_PATH_INVALID(err.message) : Errors.VALIDATION(err.message);
    throw err;
  }
}

/** Validates an administrator's storage root for a user. */
export function validateRoot(body: unknown): { bucket: string; prefix: string } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw Errors.VALIDATION('the body must be a JSON object');
  const o = body as Record<string, unknown>;
  const unknown = Object.keys(o).filter(k => k !== 'bucket' && k !== 'prefix');
  if (unknown.length) throw Errors.VALIDATION(`unknown field(s) ${unknown.join(', ')}; allowed: bucket, prefix`);
  if (typeof o.bucket !== 'string') throw Errors.VALIDATION('"bucket" is required');
  const problem = bucketProblem(o.bucket);
  if (problem) throw Errors.STORAGE_PATH_INVALID(`bucket "${o.bucket}": ${problem}`);
  if (typeof o.prefix !== 'string') throw Errors.VALIDATION('"prefix" is required ("" for the whole bucket, else a path such as "teams/a/alice/")');
  try {
    return { bucket: o.bucket, prefix: normalisePrefix(o.prefix) };
  } catch (err) {
    throw Errors.STORAGE_PATH_INVALID(`"prefix": ${(err as Error).message}`);
  }
}
