/**
 * "Submit as training job" from a notebook (SPEC §8): the instance's agent converts the
 * notebook to a `.py` next to it (`api/nbg/convert`, as "Convert to Python File" with force),
 * and the notebook's directory is copied to object storage as the job's code directory,
 * with the `.py` as the boot file.
 *
 * #### Notes
 * - Files are read through the agent (`api/contents` listings, `files/` downloads), so this
 *   works the same on every runtime and storage type.
 * - `.ipynb_checkpoints` and `__pycache__` are left out; the directory is bounded in files
 *   and bytes (data belongs in object storage, given as the job's data URL).
 */
import { Readable } from 'node:stream';
import { Errors } from '../errors';
import type { OpenTarget } from '../instances/instance';
import { callAgent } from '../instances/agent-client';
import { instanceBaseUrl } from '../instances/manager';
import { deletePrefix, type IObjectStore } from '../storage/object-store';
import type { ObjectLocation } from './object-url';

export interface NotebookStagingLimits {
  maxFiles: number;
  maxBytes: number;
}

export interface StagedCode {
  /** Where the directory was copied: `<dest>/<dir name>/`. */
  code: ObjectLocation;
  /** The converted `.py`, relative to the code directory. */
  bootFile: string;
  files: number;
  bytes: number;
}

interface DirEntry {
  name: string;
  path: string;
  type: 'directory' | 'file' | 'notebook';
  size?: number | null;
}

const SKIPPED = new Set(['.ipynb_checkpoints', '__pycache__']);

/** The agent's URL of a path under the instance's base URL. */
function agentUrl(t: OpenTarget, path: string): string {
  return `http://${t.endpoint.host}:${t.endpoint.port}${instanceBaseUrl(t.instanceId)}${path}`;
}

const escapePath = (p: string): string => p.split('/').map(encodeURIComponent).join('/');

async function agentGet(t: OpenTarget, path: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(agentUrl(t, path), { headers: { Authorization: `token ${t.agentToken}` }, signal: AbortSignal.timeout(120_000) });
  } catch (err) {
    throw Errors.INSTANCE_UNREACHABLE((err as Error).message);
  }
  if (!res.ok) {
    const text = await res.text().catch(() => '');
    let message = text;
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? text;
    } catch {
      /* not JSON */
    }
    if (res.status >= 500) throw Errors.INSTANCE_UNREACHABLE(`the agent answered ${res.status}: ${message}`);
    throw Errors.JOB_INPUT_NOT_FOUND(`reading ${path} from the notebook instance failed: ${message || res.status}`);
  }
  return res;
}

/** Every file under `dir` in the instance (relative paths), within the limits. */
async function listDir(t: OpenTarget, dir: string, limits: NotebookStagingLimits): Promise<{ path: string; size: number }[]> {
  const out: { path: string; size: number }[] = [];
  let bytes = 0;
  const walk = async (d: string): Promise<void> => {
    const model = (await (await agentGet(t, `api/contents/${escapePath(d)}?content=1`)).json()) as { content: DirEntry[] };
    for (const e of model.content) {
      if (SKIPPED.has(e.name)) continue;
      if (e.type === 'directory') {
        await walk(e.path);
        continue;
      }
      out.push({ path: e.path, size: e.size ?? 0 });
      bytes += e.size ?? 0;
      if (out.length > limits.maxFiles || bytes > limits.maxBytes) {
        throw Errors.VALIDATION(
          `the notebook's directory "${dir || '~/work'}" holds more than ${limits.maxFiles} files or ${Math.round(limits.maxBytes / 2 ** 20)} MiB; ` +
            'keep the code in its own directory and put data in object storage (the job\'s "dataUrl")'
        );
      }
    }
  };
  await walk(dir);
  return out;
}

/**
 * Converts the notebook and copies its directory to `dest/<dir name>/`.
 * @param notebook - the notebook's path relative to the instance's root (`~/work`).
 * @throws the agent's refusal (not saved, not found), VALIDATION when the directory is too big.
 */
export async function stageNotebook(objects: IObjectStore, t: OpenTarget, notebook: string, dest: ObjectLocation, limits: NotebookStagingLimits): Promise<StagedCode> {
  const converted = await callAgent<{ path: string }>(t, 'POST', 'api/nbg/convert', { path: notebook, force: true });
  const dir = notebook.includes('/') ? notebook.slice(0, notebook.lastIndexOf('/')) : '';
  const dirName = dir ? dir.slice(dir.lastIndexOf('/') + 1) : 'work';
  const code: ObjectLocation = { bucket: dest.bucket, prefix: `${dest.prefix}${dirName}/` };
  const rel = (p: string): string => (dir ? p.slice(dir.length + 1) : p);
  const files = await listDir(t, dir, limits);
  await objects.ensureBucket(code.bucket);
  let bytes = 0;
  try {
    for (const f of files) {
      const res = await agentGet(t, `files/${escapePath(f.path)}`);
      const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
      bytes += (await objects.put(code.bucket, `${code.prefix}${rel(f.path)}`, body, { size: f.size })).size;
    }
  } catch (err) {
    await deletePrefix(objects, code.bucket, code.prefix).catch(() => undefined);
    throw err;
  }
  return { code, bootFile: rel(converted.body.path), files: files.length, bytes };
}
