/**
 * Runs the built `nbg` CLI as a child process with its own HOME, for CLI tests.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './gateway-process';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * @param env - added to the environment; NBG_URL/NBG_TOKEN are removed unless given here, so a
 *   test signs in the way a user would.
 */
export function runNbg(args: readonly string[], opts: { home: string; env?: Record<string, string>; input?: string }): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: opts.home, XDG_CONFIG_HOME: join(opts.home, '.config') };
    delete env.NBG_URL;
    delete env.NBG_TOKEN;
    Object.assign(env, opts.env);
    const child = spawn(process.execPath, [join(ROOT, 'server/dist/nbg.cjs'), ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', d => (stdout += d));
    child.stderr.on('data', d => (stderr += d));
    child.on('error', reject);
    child.on('close', code => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}
