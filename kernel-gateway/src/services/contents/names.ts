/**
 * Naming rules shared by every contents provider, as jupyter_server's ContentsManager has
 * them (`services/contents/manager.py`): untitled names, `-Copy<n>` names, hidden entries,
 * and the mimetype a file is reported with.
 */
import { posix } from 'node:path';

/** Base names of new untitled entries (jupyter_server's defaults). */
export const UNTITLED = { file: 'untitled', notebook: 'Untitled', directory: 'Untitled Folder' } as const;

/** Names never listed (jupyter_server `hide_globs`), plus our own upload staging files. */
const HIDDEN_GLOBS = [/^__pycache__$/, /\.pyc$/, /\.pyo$/, /^\.DS_Store$/, /\.so$/, /\.dylib$/, /~$/, /^\.~/];

/** Whether a directory entry is left out of listings whatever `allowHidden` says. */
export function isIgnoredName(name: string): boolean {
  return HIDDEN_GLOBS.some(re => re.test(name));
}

/** Whether an API path has a dot-file component (jupyter_server `is_hidden`). */
export function isHiddenPath(apiPath: string): boolean {
  return apiPath.split('/').some(p => p.startsWith('.'));
}

/**
 * Splits a file name into the part before and the part after where a counter goes:
 * before the last dot for notebooks, before the first dot otherwise (`a.tar.gz` → `a`,
 * `.tar.gz`), as jupyter_server's `increment_filename`.
 */
export function splitForCounter(name: string): [string, string] {
  if (name.endsWith('.ipynb')) return [name.slice(0, -'.ipynb'.length), '.ipynb'];
  const dot = name.indexOf('.', 1);
  return dot < 0 ? [name, ''] : [name.slice(0, dot), name.slice(dot)];
}

/**
 * The first free name of the series `name`, `<base><insert>1<ext>`, `<base><insert>2<ext>`, ….
 * @param exists - whether a name is taken in the target directory.
 */
export async function incrementName(name: string, insert: string, exists: (name: string) => Promise<boolean>): Promise<string> {
  const [base, ext] = splitForCounter(name);
  for (let i = 0; ; i++) {
    const candidate = i === 0 ? name : `${base}${insert}${i}${ext}`;
    if (!(await exists(candidate))) return candidate;
  }
}

/** The name a copy starts from: `a-Copy2.ipynb` → `a.ipynb`, so copies of copies stay short. */
export function copyBaseName(name: string): string {
  return name.replace(/-Copy\d*\./, '.');
}

/** The untitled name for a new entry of `type` with extension `ext` (`.txt` or `txt`). */
export function untitledName(type: 'file' | 'notebook' | 'directory', ext = ''): string {
  if (type === 'directory') return UNTITLED.directory;
  if (type === 'notebook') return `${UNTITLED.notebook}.ipynb`;
  const e = ext === '' || ext.startsWith('.') ? ext : `.${ext}`;
  return `${UNTITLED.file}${e}`;
}

const MIME: Record<string, string> = {
  '.txt': 'text/plain', '.md': 'text/markdown', '.markdown': 'text/markdown', '.py': 'text/x-python',
  '.r': 'text/x-r', '.jl': 'text/x-julia', '.sh': 'application/x-sh', '.c': 'text/x-c', '.h': 'text/x-c',
  '.cpp': 'text/x-c++src', '.java': 'text/x-java', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.ts': 'text/x-typescript', '.css': 'text/css', '.html': 'text/html', '.htm': 'text/html', '.xml': 'text/xml',
  '.csv': 'text/csv', '.tsv': 'text/tab-separated-values', '.json': 'application/json', '.geojson': 'application/geo+json',
  '.yaml': 'application/x-yaml', '.yml': 'application/x-yaml', '.toml': 'application/toml', '.ipynb': 'application/x-ipynb+json',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif',
  '.bmp': 'image/bmp', '.webp': 'image/webp', '.ico': 'image/vnd.microsoft.icon', '.tif': 'image/tiff', '.tiff': 'image/tiff',
  '.pdf': 'application/pdf', '.zip': 'application/zip', '.gz': 'application/gzip', '.tgz': 'application/gzip',
  '.tar': 'application/x-tar', '.bz2': 'application/x-bzip2', '.xz': 'application/x-xz', '.7z': 'application/x-7z-compressed',
  '.whl': 'application/zip', '.pkl': 'application/octet-stream', '.npy': 'application/octet-stream',
  '.parquet': 'application/vnd.apache.parquet', '.mp3': 'audio/mpeg', '.wav': 'audio/x-wav', '.mp4': 'video/mp4',
  '.webm': 'video/webm', '.wasm': 'application/wasm', '.woff': 'font/woff', '.woff2': 'font/woff2'
};

/** The mimetype guessed from a file name, or null (Python's `mimetypes.guess_type`). */
export function guessMimetype(name: string): string | null {
  return MIME[posix.extname(name).toLowerCase()] ?? null;
}
