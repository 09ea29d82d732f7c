/**
 * Kernel gateway configuration, parsed once and frozen (STYLE.md §14).
 *
 * Order: defaults < `--config <file.json>` < environment (`NBG_KG_*`) < command-line flags.
 * The token is a secret: it comes only from the environment or a file, never from a flag.
 */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { LogLevel } from './logger';
import { parseFlags } from '../../server/src/config-flags';

export interface Config {
  /** Address to listen on. */
  readonly host: string;
  /** Port to listen on; 0 picks a free one (written to `portFile`). */
  readonly port: number;
  /** Public path prefix, e.g. `/notebooks/<id>/`; always starts and ends with `/`. */
  readonly baseUrl: string;
  /** Root of the contents tree and default working directory for kernels and terminals. */
  readonly rootDir: string;
  /** Token clients must present (`Authorization: token …` or `?token=`); empty disables auth. */
  readonly token: string;
  /** When set, the bound port is written here once listening (how drivers learn it). */
  readonly portFile: string;
  /** Where connection files and IPC sockets of kernels live. */
  readonly runtimeDir: string;
  /** ZeroMQ transport between us and kernels. */
  readonly transport: 'ipc' | 'tcp';
  /** Extra kernelspec search roots, searched before the standard Jupyter data dirs. */
  readonly jupyterPath: readonly string[];
  /** How long a kernel may take to answer its first kernel_info_request. */
  readonly kernelStartTimeoutMs: number;
  /** Grace given to kernels to exit after shutdown_request before SIGKILL. */
  readonly kernelShutdownGraceMs: number;
  /** Automatic restarts of a dying kernel allowed per minute before it is declared dead. */
  readonly kernelRestartLimit: number;
  /**
   * Kernels of the default kernelspec kept started ahead of time, handed to the next
   * `POST api/kernels` or new session (0: none). Each costs an idle ipykernel's memory.
   */
  readonly kernelPrespawn: number;
  /** How long a kernel client session outlives its WebSocket, buffering output for a reconnect. */
  readonly kernelReconnectWindowMs: number;
  /** Most bytes of kernel output kept for one disconnected client session. */
  readonly kernelMaxBufferedBytes: number;
  /** Largest WebSocket message accepted from a client (kernel channels, terminals). */
  readonly maxWebSocketMessageBytes: number;
  /** Where the file browser's contents live: the root directory, or an object-storage prefix. */
  readonly contentsProvider: 'fs' | 's3';
  /** List and serve dot-files through the contents API (jupyter_server `allow_hidden`). */
  readonly allowHidden: boolean;
  /** Largest contents request body and file content returned by the API (a notebook, one upload chunk). */
  readonly maxContentsBytes: number;
  /** Shell command for terminals, space-separated (default `$SHELL -l`, else bash or sh). */
  readonly terminalShell: readonly string[];
  /** Name shown by `/api/me` (JupyterLab's user menu, collaborators). */
  readonly userName: string;
  /** Where sync remembers local ETags and unfinished uploads between runs (object storage). */
  readonly syncCacheDir: string;
  readonly logLevel: LogLevel;
}

interface Field<K extends keyof Config> {
  key: K;
  flag: string;
  env: string;
  help: string;
  secret?: boolean;
  parse: (raw: string) => Config[K];
}

const str = (v: string): string => v;
const int = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${v}"`);
  return n;
};
const list = (v: string): string[] => v.split(':').filter(Boolean);
const bool = (name: string) => (v: string): boolean => {
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new Error(`${name} must be true or false, got "${v}"`);
};

/** Each spare kernel holds ~50 MB of the instance's memory whether used or not. */
const MAX_PRESPAWN = 4;

/** Each setting with its flag, env variable and help text. */
export const FIELDS: ReadonlyArray<Field<keyof Config>> = [
  { key: 'host', flag: '--host', env: 'NBG_KG_HOST', help: 'address to listen on', parse: str },
  { key: 'port', flag: '--port', env: 'NBG_KG_PORT', help: 'port (0 = any free port)', parse: int('port') },
  { key: 'baseUrl', flag: '--base-url', env: 'NBG_KG_BASE_URL', help: 'public path prefix', parse: normaliseBaseUrl },
  { key: 'rootDir', flag: '--root-dir', env: 'NBG_KG_ROOT_DIR', help: 'contents root and kernel cwd', parse: str },
  { key: 'token', flag: '', env: 'NBG_KG_TOKEN', help: 'client token (env or NBG_KG_TOKEN_FILE only)', secret: true, parse: str },
  { key: 'portFile', flag: '--port-file', env: 'NBG_KG_PORT_FILE', help: 'write the bound port here', parse: str },
  { key: 'runtimeDir', flag: '--runtime-dir', env: 'NBG_KG_RUNTIME_DIR', help: 'kernel connection files and sockets', parse: str },
  {
    key: 'transport', flag: '--transport', env: 'NBG_KG_TRANSPORT', help: 'ipc or tcp',
    parse: v => {
      if (v !== 'ipc' && v !== 'tcp') throw new Error(`transport must be "ipc" or "tcp", got "${v}"`);
      return v;
    }
  },
  { key: 'jupyterPath', flag: '--jupyter-path', env: 'JUPYTER_PATH', help: 'extra kernelspec roots (colon-separated)', parse: list },
  { key: 'kernelStartTimeoutMs', flag: '--kernel-start-timeout-ms', env: 'NBG_KG_KERNEL_START_TIMEOUT_MS', help: 'kernel readiness timeout', parse: int('kernelStartTimeoutMs') },
  { key: 'kernelShutdownGraceMs', flag: '--kernel-shutdown-grace-ms', env: 'NBG_KG_KERNEL_SHUTDOWN_GRACE_MS', help: 'grace before SIGKILL', parse: int('kernelShutdownGraceMs') },
  { key: 'kernelRestartLimit', flag: '--kernel-restart-limit', env: 'NBG_KG_KERNEL_RESTART_LIMIT', help: 'automatic restarts per minute before "dead"', parse: int('kernelRestartLimit') },
  {
    key: 'kernelPrespawn', flag: '--kernel-prespawn', env: 'NBG_KG_KERNEL_PRESPAWN', help: 'spare kernels of the default kernelspec kept started (0-4, 0 = none)',
    parse: v => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > MAX_PRESPAWN) throw new Error(`kernelPrespawn must be an integer from 0 to ${MAX_PRESPAWN}, got "${v}"`);
      return n;
    }
  },
  { key: 'kernelReconnectWindowMs', flag: '--kernel-reconnect-window-ms', env: 'NBG_KG_KERNEL_RECONNECT_WINDOW_MS', help: 'client session kept after its WebSocket drops', parse: int('kernelReconnectWindowMs') },
  { key: 'kernelMaxBufferedBytes', flag: '--kernel-max-buffered-bytes', env: 'NBG_KG_KERNEL_MAX_BUFFERED_BYTES', help: 'output kept per disconnected client', parse: int('kernelMaxBufferedBytes') },
  { key: 'maxWebSocketMessageBytes', flag: '--max-websocket-message-bytes', env: 'NBG_KG_MAX_WEBSOCKET_MESSAGE_BYTES', help: 'largest client WebSocket message', parse: int('maxWebSocketMessageBytes') },
  {
    key: 'contentsProvider', flag: '--contents-provider', env: 'NBG_KG_CONTENTS_PROVIDER', help: 'fs (root directory) or s3 (object storage)',
    parse: v => {
      if (v !== 'fs' && v !== 's3') throw new Error(`contents provider must be "fs" or "s3", got "${v}"`);
      return v;
    }
  },
  { key: 'allowHidden', flag: '--allow-hidden', env: 'NBG_KG_ALLOW_HIDDEN', help: 'serve dot-files in the contents API (true/false)', parse: bool('allowHidden') },
  { key: 'maxContentsBytes', flag: '--max-contents-bytes', env: 'NBG_KG_MAX_CONTENTS_BYTES', help: 'largest contents body / file read through the API', parse: int('maxContentsBytes') },
  { key: 'terminalShell', flag: '--terminal-shell', env: 'NBG_KG_TERMINAL_SHELL', help: 'shell command for terminals', parse: v => v.split(' ').filter(Boolean) },
  { key: 'userName', flag: '--user-name', env: 'NBG_KG_USER_NAME', help: 'user name reported by /api/me', parse: str },
  { key: 'syncCacheDir', flag: '--sync-cache-dir', env: 'NBG_KG_SYNC_CACHE_DIR', help: 'sync state (local ETags, unfinished uploads)', parse: str },
  {
    key: 'logLevel', flag: '--log-level', env: 'NBG_KG_LOG_LEVEL', help: 'debug, info, warn or error',
    parse: v => {
      if (!['debug', 'info', 'warn', 'error'].includes(v)) throw new Error(`log level must be debug, info, warn or error, got "${v}"`);
      return v as LogLevel;
    }
  }
];

export function defaults(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    host: '127.0.0.1',
    port: 8888,
    baseUrl: '/',
    rootDir: process.cwd(),
    token: '',
    portFile: '',
    runtimeDir: `/tmp/nbkg-${process.pid}`,
    transport: 'ipc',
    jupyterPath: [],
    kernelStartTimeoutMs: 60_000,
    kernelShutdownGraceMs: 3_000,
    kernelRestartLimit: 5,
    kernelPrespawn: 1,
    kernelReconnectWindowMs: 30_000,
    kernelMaxBufferedBytes: 32 << 20,
    maxWebSocketMessageBytes: 256 << 20,
    contentsProvider: 'fs',
    allowHidden: false,
    maxContentsBytes: 512 << 20,
    terminalShell: env.SHELL ? [env.SHELL, '-l'] : [],
    userName: env.USER || env.LOGNAME || osUserName(),
    syncCacheDir: join(env.XDG_CACHE_HOME || join(env.HOME || '/tmp', '.cache'), 'nbg-sync'),
    logLevel: env.NBG_KG_LOG_LEVEL === 'debug' ? 'debug' : 'info'
  };
}

/** The OS user's name; a uid without a passwd entry (common in containers) gets `user`. */
function osUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'user';
  }
}

/** `/a/b` → `/a/b/`; empty → `/`. */
export function normaliseBaseUrl(v: string): string {
  let s = v.trim();
  if (!s.startsWith('/')) s = '/' + s;
  if (!s.endsWith('/')) s += '/';
  return s.replace(/\/{2,}/g, '/');
}

/**
 * Parses configuration from argv, env and an optional JSON file.
 * @throws Error with a message naming the bad setting and what is allowed.
 */
export function loadConfig(argv: readonly string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): Config {
  const out: Record<string, unknown> = { ...defaults(env) };
  const flags = parseFlags(argv);
  const file = flags.get('--config') ?? env.NBG_KG_CONFIG;
  if (file) {
    const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    for (const [k, v] of Object.entries(json)) {
      const field = FIELDS.find(f => f.key === k);
      if (!field) throw new Error(`unknown setting "${k}" in ${file}`);
      out[k] = field.parse(Array.isArray(v) ? v.join(':') : String(v));
    }
  }
  for (const f of FIELDS) {
    const raw = env[f.env];
    if (raw !== undefined && raw !== '') out[f.key] = f.parse(raw);
  }
  if (!env.NBG_KG_TOKEN && env.NBG_KG_TOKEN_FILE) {
    out.token = readFileSync(env.NBG_KG_TOKEN_FILE, 'utf8').trim();
  }
  for (const [flag, value] of flags) {
    if (flag === '--config') continue;
    const field = FIELDS.find(f => f.flag === flag);
    if (!field) throw new Error(`unknown flag ${flag}; run with --help for the list`);
    out[field.key] = field.parse(value);
  }
  return Object.freeze(out) as unknown as Config;
}

/** Help text listing every setting. */
export function helpText(): string {
  const rows = FIELDS.map(f => `  ${(f.flag || '(env only)').padEnd(28)} ${f.env.padEnd(32)} ${f.help}`);
  return ['nbg-kernel-gateway: Jupyter-Server-compatible server for one notebook instance', '', ...rows].join('\n');
}
