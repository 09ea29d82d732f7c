/**
 * The last lines of what an instance wrote (its agent and kernels), for
 * `GET /notebooks/{id}/logs`: from the agent's log file (local-process runtime) or the
 * container's log stream (Docker).
 */
import { open } from 'node:fs/promises';

/** Most bytes read from the end of a log, whatever `lines` asks: one answer stays small. */
export const MAX_OUTPUT_BYTES = 1 << 20;

/** The last `lines` lines of a file ('' when it does not exist), at most `MAX_OUTPUT_BYTES`. */
export async function tailFile(path: string, lines: number): Promise<string> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
  try {
    const { size } = await fh.stat();
    const length = Math.min(size, MAX_OUTPUT_BYTES);
    const buf = Buffer.allocUnsafe(length);
    const { bytesRead } = await fh.read(buf, 0, length, size - length);
    return lastLines(buf.subarray(0, bytesRead).toString('utf8'), lines);
  } finally {
    await fh.close();
  }
}

/** The last `lines` lines of a text; a final newline does not count as an empty line. */
export function lastLines(text: string, lines: number): string {
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  let at = body.length;
  for (let n = 0; n < lines; n++) {
    at = body.lastIndexOf('\n', at - 1);
    if (at < 0) return text;
  }
  return text.slice(at + 1);
}

/** Docker's multiplexed log stream (8-byte frame headers, stdout and stderr interleaved) as text. */
export function demuxDockerLog(buf: Buffer): string {
  const parts: Buffer[] = [];
  for (let i = 0; i + 8 <= buf.length; ) {
    const len = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + len));
    i += 8 + len;
  }
  return Buffer.concat(parts).toString('utf8');
}
