/**
 * Storage paths as users write them (relative to their root): normalised, and refused when
 * they could leave the root. Pure; shared by the gateway and the agent.
 */

const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Checks a bucket name against S3's rules.
 * @returns a reason when invalid, else null.
 */
export function bucketProblem(bucket: string): string | null {
  if (!BUCKET_RE.test(bucket) || bucket.includes('..')) return '3–63 characters of lowercase letters, digits, "." and "-", starting and ending with a letter or digit';
  return null;
}

/**
 * Normalises a relative path used as a prefix: no leading `/`, `/` at the end (when not
 * empty), no empty, `.` or `..` segments.
 * @throws Error saying what is wrong.
 */
export function normalisePrefix(raw: string): string {
  const parts = raw.split('/');
  if (raw.startsWith('/')) parts.shift();
  if (parts.at(-1) === '') parts.pop();
  for (const p of parts) {
    if (p === '' || p === '.' || p === '..') throw new Error(`"${raw}" must not contain empty, "." or ".." segments`);
    if (p.includes('\0')) throw new Error(`"${raw}" must not contain NUL bytes`);
  }
  const out = parts.length ? parts.join('/') + '/' : '';
  if (Buffer.byteLength(out) > 900) throw new Error(`"${raw}" is longer than 900 bytes`);
  return out;
}

/**
 * Normalises a relative path naming an object or, with a trailing `/`, a prefix.
 * @throws Error saying what is wrong.
 */
export function normaliseKeyPath(raw: string): string {
  const dir = raw.endsWith('/');
  const p = normalisePrefix(raw);
  if (!p) throw new Error('a path must not be empty');
  return dir ? p : p.slice(0, -1);
}
