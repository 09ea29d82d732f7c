/**
 * A file model's `content` and `format` (jupyter_server's contents API) to bytes and back, the
 * same for every contents provider (filesystem, object storage).
 */
import type { Contents } from '@jupyterlab/services';
import { JupyterError } from '../../errors';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** File bytes as the requested format; without one, text when valid UTF-8, else base64. */
export function decodeFile(bytes: Buffer, format: Contents.FileFormat | undefined, api: string): { content: string; format: 'text' | 'base64' } {
  if (format === 'base64') return { content: bytes.toString('base64'), format: 'base64' };
  try {
    return { content: utf8.decode(bytes), format: 'text' };
  } catch {
    if (format === 'text') throw new JupyterError(400, `${api} is not UTF-8 encoded; ask for format=base64`, 'bad format');
    return { content: bytes.toString('base64'), format: 'base64' };
  }
}

const BASE64 = /^[A-Za-z0-9+/\r\n]*={0,2}[\r\n]*$/;

/** The bytes a file model's content stands for. @throws 400 for a bad format or content. */
export function encodeFile(content: unknown, format: unknown, api: string): Buffer {
  if (format !== 'text' && format !== 'base64') {
    throw new JupyterError(400, `Must specify format of file contents as "text" or "base64" (saving ${api})`);
  }
  if (typeof content !== 'string') throw new JupyterError(400, `File content must be a string (saving ${api})`);
  if (format === 'text') return Buffer.from(content, 'utf8');
  if (!BASE64.test(content)) throw new JupyterError(400, `Content of ${api} is not valid base64`);
  return Buffer.from(content, 'base64');
}
