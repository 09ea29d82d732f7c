/**
 * S3 ETags computed locally: the MD5 of a single-part object, or `<md5 of the parts' binary
 * MD5s>-<number of parts>` for a multipart one. The filesystem store writes them, and sync
 * predicts the ETag a local file has (or would have) in a store, to skip unchanged files.
 */
import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';

export const MiB = 1024 * 1024;
/** S3's smallest part (every part but the last). */
export const MIN_PART_SIZE = 5 * MiB;
/** S3's largest number of parts in one upload. */
export const MAX_PARTS = 10_000;
/** Our default part size: large enough to keep request counts down, small enough to resend. */
export const DEFAULT_PART_SIZE = 8 * MiB;

/**
 * The part size used for an object of `size` bytes: `base`, doubled until the object fits in
 * 10,000 parts. Objects up to that size are stored in a single part.
 */
export function partSizeFor(size: number, base: number = DEFAULT_PART_SIZE): number {
  let p = Math.max(base, MIN_PART_SIZE);
  while (Math.ceil(size / p) > MAX_PARTS) p *= 2;
  return p;
}

/** The ETag of an object assembled from parts with these MD5 digests. */
export function multipartEtag(partMd5s: readonly Buffer[]): string {
  const h = createHash('md5');
  for (const d of partMd5s) h.update(d);
  return `${h.digest('hex')}-${partMd5s.length}`;
}

/** Number of parts in a multipart ETag, or 1 for a plain MD5. */
export function etagParts(etag: string): number {
  const m = /-(\d+)$/.exec(etag);
  return m ? Number(m[1]) : 1;
}

/**
 * Hashes a stream of chunks the way a store would, part by part.
 *
 * #### Notes
 * `partSize` is fixed at creation; `digest()` returns the single-part MD5 when the total
 * is at most one part, the multipart ETag otherwise.
 */
export class EtagHasher {
  private readonly _whole = createHash('md5');
  private _part: Hash = createHash('md5');
  private _inPart = 0;
  private readonly _parts: Buffer[] = [];
  size = 0;

  constructor(private readonly _partSize: number) {}

  update(chunk: Buffer): void {
    this.size += chunk.length;
    this._whole.update(chunk);
    let off = 0;
    while (off < chunk.length) {
      const take = Math.min(this._partSize - this._inPart, chunk.length - off);
      this._part.update(take === chunk.length && off === 0 ? chunk : chunk.subarray(off, off + take));
      this._inPart += take;
      off += take;
      if (this._inPart === this._partSize) {
        this._parts.push(this._part.digest());
        this._part = createHash('md5');
        this._inPart = 0;
      }
    }
  }

  /** The whole body's MD5 (hex). */
  md5(): string {
    return this._whole.copy().digest('hex');
  }

  digest(): string {
    const whole = this._whole.digest('hex');
    if (this.size <= this._partSize) return whole;
    const parts = this._inPart > 0 ? [...this._parts, this._part.digest()] : this._parts;
    return multipartEtag(parts);
  }
}

/**
 * The ETag a local file has when stored with parts of `partSize` (single-part when it fits).
 * Reads the file once.
 */
export async function fileEtag(path: string, partSize: number, signal?: AbortSignal): Promise<{ etag: string; size: number }> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const hasher = new EtagHasher(partSizeFor(size, partSize));
    const buf = Buffer.allocUnsafe(Math.min(Math.max(size, 1), 4 * MiB));
    for (;;) {
      signal?.throwIfAborted();
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      hasher.update(buf.subarray(0, bytesRead));
    }
    return { etag: hasher.digest(), size: hasher.size };
  } finally {
    await fh.close();
  }
}

/**
 * Part sizes that could have produced a multipart ETag with `parts` parts for `size` bytes,
 * most likely first: ours, then whole MiB sizes that tools commonly use.
 */
export function candidatePartSizes(size: number, parts: number, ours: number): number[] {
  const fits = (p: number): boolean => p >= MIN_PART_SIZE && Math.ceil(size / p) === parts;
  const out: number[] = [];
  const add = (p: number): void => {
    if (fits(p) && !out.includes(p)) out.push(p);
  };
  add(partSizeFor(size, ours));
  for (const mib of [5, 8, 10, 15, 16, 32, 50, 64, 100, 128, 256, 512]) add(mib * MiB);
  // The smallest whole-MiB size that gives this many parts (what most uploaders pick).
  add(Math.ceil(size / parts / MiB) * MiB);
  return out.slice(0, 3);
}
