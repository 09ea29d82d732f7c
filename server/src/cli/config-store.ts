/**
 * Where `nbg login` keeps the gateway URL and token: `$XDG_CONFIG_HOME/nbg/config.json`
 * (default `~/.config/nbg/`), readable only by the user. `NBG_URL` and `NBG_TOKEN` override
 * it (for CI).
 */
import { mkdir, readFile, rm, writeFile, rename } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface CliConfig {
  url: string;
  token: string;
  user?: string;
  /** ISO time the token expires (sessions), if known. */
  expiresAt?: string | null;
}

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'nbg');
}

export function configFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'config.json');
}

export async function loadCliConfig(env: NodeJS.ProcessEnv = process.env): Promise<Partial<CliConfig>> {
  let stored: Partial<CliConfig> = {};
  try {
    stored = JSON.parse(await readFile(configFile(env), 'utf8')) as Partial<CliConfig>;
  } catch {
    /* not signed in yet */
  }
  return {
    ...stored,
    ...(env.NBG_URL ? { url: env.NBG_URL } : {}),
    ...(env.NBG_TOKEN ? { token: env.NBG_TOKEN } : {})
  };
}

export async function saveCliConfig(c: CliConfig, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const dir = configDir(env);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = configFile(env);
  // The token is a credential: write 0600, then rename so no reader sees half a file.
  await writeFile(`${file}.tmp`, JSON.stringify(c, null, 2) + '\n', { mode: 0o600 });
  await rename(`${file}.tmp`, file);
  return file;
}

export async function clearCliConfig(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  await rm(configFile(env), { force: true });
}
