/**
 * `nbg login`, `nbg logout`, `nbg whoami`.
 */
import { createInterface } from 'node:readline';
import { UsageError } from '../args';
import { ApiClient } from '../client';
import { clearCliConfig, loadCliConfig, saveCliConfig } from '../config-store';
import type { Command } from './context';

interface LoginAnswer {
  token: string;
  expiresAt: string;
  user: { id: string; name: string; role: string };
}

interface Me {
  id: string;
  name: string;
  role: string;
  via: string;
  scope: string[] | null;
}

export const login: Command = async ({ flags, out, env }) => {
  const username = flags.string('username');
  const passwordStdin = flags.bool('password-stdin');
  const token = flags.string('token');
  flags.done(1);
  const stored = await loadCliConfig(env);
  const url = (flags.positionals[0] ?? stored.url)?.replace(/\/+$/, '');
  if (!url) throw new UsageError('give the gateway URL: nbg login https://gateway.example.com');
  if (!/^https?:\/\//.test(url)) throw new UsageError(`"${url}" is not an http(s) URL`);
  let saved: { token: string; user: string; expiresAt: string | null };
  if (token) {
    // An API token made in the console: check it before keeping it.
    const me = await new ApiClient(url, token).get<Me>('/api/v1/me');
    saved = { token, user: me.name, expiresAt: null };
  } else {
    const name = username ?? (await ask('User name: ', false));
    const password = passwordStdin ? await readStdin() : await ask('Password: ', true);
    const answer = await new ApiClient(url, undefined).request<LoginAnswer>('POST', '/api/v1/auth/login', { json: { username: name, password } });
    saved = { token: answer.token, user: answer.user.name, expiresAt: answer.expiresAt };
  }
  const file = await saveCliConfig({ url, ...saved }, env);
  out.result({ url, user: saved.user, expiresAt: saved.expiresAt, configFile: file }, () =>
    `Signed in to ${url} as ${saved.user}${saved.expiresAt ? ` until ${saved.expiresAt}` : ''} (saved in ${file})`);
};

export const logout: Command = async ({ flags, out, env }) => {
  flags.done(0);
  const c = await loadCliConfig(env);
  if (c.url && c.token) {
    // Ends a session on the gateway; an API token stays valid until revoked.
    await new ApiClient(c.url, c.token).request('POST', '/api/v1/auth/logout').catch(() => undefined);
  }
  await clearCliConfig(env);
  out.result({ signedOut: true }, () => 'Signed out');
};

export const whoami: Command = async ({ flags, out, client }) => {
  flags.done(0);
  const api = await client();
  const me = await api.get<Me>('/api/v1/me');
  out.result({ ...me, url: api.baseUrl }, () => `${me.name} (${me.role}) at ${api.baseUrl}${me.scope ? `, token limited to ${me.scope.join(', ')}` : ''}`);
};

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text.replace(/\r?\n$/, '');
}

/** Asks on the terminal; a hidden answer is not echoed. */
async function ask(question: string, hidden: boolean): Promise<string> {
  if (!process.stdin.isTTY) throw new UsageError(hidden ? 'no terminal to ask for the password: use --password-stdin or --token' : 'give --username');
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  if (hidden) {
    // Echo nothing while the password is typed.
    (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
      if (s.includes(question)) process.stderr.write(question);
    };
  }
  try {
    return await new Promise<string>(resolve => rl.question(question, resolve));
  } finally {
    if (hidden) process.stderr.write('\n');
    rl.close();
  }
}
