/**
 * Object-storage locations of jobs (code, data, output, log): parsed once at the boundary
 * and kept in one canonical form, `s3://<bucket>/<prefix>/`, which is also what the job sees
 * in `DLS_*_URL` (SPEC §8: "with s3:// prefix").
 *
 * Accepted spellings: `s3://bucket/dir/`, `obs://bucket/dir/` and ModelArts' OBS paths
 * `/bucket/dir/`; the trailing `/` is optional.
 */
import { Errors } from '../errors';

export interface ObjectLocation {
  bucket: string;
  /** Key prefix: empty for the whole bucket, else ends with `/`. */
  prefix: string;
}

/** S3's bucket naming rules (the strictest common subset: no dots, no uppercase). */
const BUCKET = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
const MAX_KEY_BYTES = 1024;

/**
 * Parses a directory location.
 * @param field - the request field, for the error message.
 * @throws VALIDATION naming the field and the accepted forms.
 */
export function parseDirUrl(raw: unknown, field: string): ObjectLocation {
  const forms = `"s3://bucket/dir/", "obs://bucket/dir/" or "/bucket/dir/"`;
  if (typeof raw !== 'string' || raw.trim() === '') throw Errors.VALIDATION(`"${field}" must be an object-storage directory: ${forms}`);
  const s = raw.trim();
  const m = /^(?:(?:s3|obs):\/\/|\/)([^/]+)(?:\/(.*))?$/.exec(s);
  if (!m) throw Errors.VALIDATION(`"${field}" must be an object-storage directory: ${forms}; got ${JSON.stringify(raw)}`);
  const bucket = m[1]!;
  if (!BUCKET.test(bucket)) {
    throw Errors.VALIDATION(`"${field}": bucket "${bucket}" is not a valid bucket name (3–63 characters: lowercase letters, digits and "-", starting and ending with a letter or digit)`);
  }
  const rest = (m[2] ?? '').replace(/\/+$/, '');
  const prefix = rest === '' ? '' : `${checkKeyPath(rest, field)}/`;
  if (Buffer.byteLength(prefix) > MAX_KEY_BYTES - 100) throw Errors.VALIDATION(`"${field}" is too long (at most ${MAX_KEY_BYTES - 100} bytes after the bucket)`);
  return { bucket, prefix };
}

/** Checks a `/`-separated relative path: no empty, `.` or `..` segments, no control characters. */
export function checkKeyPath(path: string, field: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(path)) throw Errors.VALIDATION(`"${field}" must not contain control characters or "\\"`);
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.' || seg === '..') {
      throw Errors.VALIDATION(`"${field}" must be a clean path: no empty, "." or ".." segments; got ${JSON.stringify(path)}`);
    }
  }
  return path;
}

/** The canonical URL of a location: `s3://bucket/prefix/`. */
export function formatDirUrl(loc: ObjectLocation): string {
  return `s3://${loc.bucket}/${loc.prefix}`;
}

/** Parses a URL that was stored in canonical form (trusted: written by `formatDirUrl`). */
export function locationOf(url: string): ObjectLocation {
  const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(url);
  if (!m) throw new Error(`not a canonical object URL: ${url}`);
  return { bucket: m[1]!, prefix: m[2]! };
}

/** The name of the last directory of a location (`app` for `s3://b/x/app/`); the bucket for a bucket root. */
export function lastDirName(loc: ObjectLocation): string {
  const parts = loc.prefix.split('/').filter(Boolean);
  return parts.at(-1) ?? loc.bucket;
}

/** The location `sub/` below a directory. */
export function childDir(loc: ObjectLocation, sub: string): ObjectLocation {
  return { bucket: loc.bucket, prefix: `${loc.prefix}${sub.replace(/\/+$/, '')}/` };
}

/**
 * Resolves a boot file given relative to the code directory, or as a full location inside it
 * (ModelArts shows `/bucket/code/train.py`).
 * @returns the path relative to the code directory.
 * @throws VALIDATION when it is outside the code directory or not a clean path.
 */
export function resolveBootFile(raw: unknown, code: ObjectLocation): string {
  if (typeof raw !== 'string' || raw.trim() === '') {
    throw Errors.VALIDATION('"bootFile" is required: the script to run, relative to the code directory (e.g. "train.py")');
  }
  const s = raw.trim();
  if (/^(?:s3|obs):\/\//.test(s) || s.startsWith('/')) {
    const m = /^(?:(?:s3|obs):\/\/|\/)([^/]+)\/(.*)$/.exec(s);
    if (!m || m[1] !== code.bucket || !m[2]!.startsWith(code.prefix) || m[2]!.length === code.prefix.length) {
      throw Errors.VALIDATION(`"bootFile" ${JSON.stringify(raw)} is not inside the code directory ${formatDirUrl(code)}; give a path inside it, or one relative to it`);
    }
    return checkKeyPath(m[2]!.slice(code.prefix.length), 'bootFile');
  }
  return checkKeyPath(s.replace(/^\.\//, ''), 'bootFile');
}
