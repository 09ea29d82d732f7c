/**
 * `nbg-sync`: Sync OBS, push and pull from inside an instance (a terminal, a notebook's `!`
 * line), talking to the instance's agent over its local socket (`$NBG_SYNC_SOCKET`). Paths are
 * relative to `~/work` locally and to the user's storage root remotely.
 *
 * Bundled by scripts/build.mjs as `kernel-gateway/dist/nbg-sync.cjs` with a `bin/nbg-sync`
 * launcher, injected into instances with the agent.
 */
import { request as httpRequest } from 'node:http';

const USAGE = `nbg-sync: copy between ~/work and object storage (your storage root)

Usage:
  nbg-sync push [PATH] [--to PREFIX] [--delete [--max-delete N]] [--dry-run]
      ~/work/PATH (default: all of ~/work) → PREFIX (default: notebooks/<instance>/)
  nbg-sync pull [PATH] [--from PREFIX] [--delete [--max-delete N]] [--dry-run]
      PREFIX → ~/work/PATH
  nbg-sync obs SOURCE... [--into PATH] [--dry-run]
      Sync OBS: objects ("a.csv") and folders ("data/") of this instance's OBS path → ~/work
      (at most 1024 files, and ~/work at most 500 MB afterwards; checked before copying)
  nbg-sync ls [PREFIX] [--recursive]
  nbg-sync status [ID]      recent syncs, or one
  nbg-sync cancel ID

Options:
  --no-wait          start the sync and print its id instead of following it
  --json             print the final state as JSON
  -j, --concurrency N  parallel transfers (default 16)
  --socket PATH      the agent's socket (default $NBG_SYNC_SOCKET)

Unchanged files are skipped (size and ETag), nothing is deleted unless --delete is given, and
a sync that is interrupted resumes where it stopped when run again.`;

interface Job {
  id: string;
  kind: string;
  state: string;
  prefix: string;
  path: string;
  plan: Record<string, number>;
  progress: { phase: string; filesTotal: number; filesDone: number; filesFailed: number; bytesTotal: number; bytesDone: number; deletesDone: number; resumedParts?: number };
  failures: { path: string; error: string }[];
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
}

class UsageError extends Error {}

/** Minimal flag parsing: `--flag value`, `--flag=value`, boolean flags, positionals. */
function parseArgs(argv: string[], booleans: readonly string[]): { positional: string[]; flags: Map<string, string | true> } {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      positional.push(a);
      continue;
    }
    const name = a === '-j' ? 'concurrency' : a.replace(/^--?/, '').split('=')[0]!;
    if (a.includes('=')) flags.set(name, a.slice(a.indexOf('=') + 1));
    else if (booleans.includes(name)) flags.set(name, true);
    else {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      flags.set(name, v);
    }
  }
  return { positional, flags };
}

function call<T>(socket: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = httpRequest({
      socketPath: socket, method, path: `/api/nbg/sync/${path}`,
      headers: data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {}
    }, res => {
      const chunks: Buffer[] = [];
      res.on('data', c => chunks.push(c as Buffer));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          /* keep the text */
        }
        resolve({ status: res.statusCode ?? 0, body: parsed as T });
      });
    });
    req.on('error', err => reject(new Error(`cannot reach the instance agent at ${socket}: ${err.message}`)));
    req.end(data);
  });
}

const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MB`;

function describe(job: Job): string {
  const p = job.progress;
  const plan = job.plan;
  const parts = [`${job.kind} ${job.id}: ${job.state}`];
  if (job.state === 'planned') {
    parts.push(`would copy ${plan.transfers} file(s) (${mb(plan.transferBytes ?? 0)}), ${plan.unchanged} unchanged, ${plan.deletes} to delete`);
  } else {
    parts.push(`${p.filesDone - p.filesFailed}/${p.filesTotal} copied (${mb(p.bytesDone)} of ${mb(p.bytesTotal)}), ${plan.unchanged ?? 0} unchanged`);
    if (p.deletesDone) parts.push(`${p.deletesDone} deleted`);
    if (p.filesFailed) parts.push(`${p.filesFailed} failed`);
    if (p.resumedParts) parts.push(`${p.resumedParts} part(s) resumed`);
  }
  return parts.join(', ');
}

async function follow(socket: string, job: Job, json: boolean): Promise<number> {
  const tty = process.stderr.isTTY;
  let last = 0;
  while (job.state === 'running') {
    await new Promise(r => setTimeout(r, 300));
    const res = await call<Job>(socket, 'GET', `jobs/${job.id}`);
    if (res.status !== 200) throw new Error(`lost track of sync ${job.id}: ${JSON.stringify(res.body)}`);
    job = res.body;
    if (tty) process.stderr.write(`\r\x1b[K${describe(job)}`);
    else if (Date.now() - last > 5_000) {
      process.stderr.write(describe(job) + '\n');
      last = Date.now();
    }
  }
  if (tty) process.stderr.write('\r\x1b[K');
  return report(job, json);
}

function report(job: Job, json: boolean): number {
  if (json) process.stdout.write(JSON.stringify(job, null, 2) + '\n');
  else {
    process.stdout.write(describe(job) + '\n');
    for (const f of job.failures) process.stdout.write(`  failed: ${f.path}: ${f.error}\n`);
    if (job.error) process.stdout.write(`  ${job.error}\n`);
  }
  return job.state === 'succeeded' || job.state === 'planned' || job.state === 'running' ? 0 : 1;
}

/** Runs one command. @returns the exit code. */
export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(USAGE + '\n');
    return cmd ? 0 : 2;
  }
  const { positional, flags } = parseArgs(rest, ['delete', 'dry-run', 'no-wait', 'json', 'recursive', 'r']);
  const socket = (flags.get('socket') as string | undefined) ?? env.NBG_SYNC_SOCKET;
  if (!socket) throw new Error('$NBG_SYNC_SOCKET is not set: run nbg-sync inside a notebook instance (a terminal or a notebook), or pass --socket');
  const json = flags.has('json');
  const num = (k: string): number | undefined => {
    const v = flags.get(k);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n)) throw new UsageError(`--${k} must be a whole number`);
    return n;
  };
  const fail = (res: { status: number; body: unknown }): number => {
    const b = res.body as { message?: string; details?: unknown };
    process.stderr.write(`nbg-sync: ${b?.message ?? JSON.stringify(res.body)}\n`);
    return 1;
  };

  switch (cmd) {
    case 'push':
    case 'pull':
    case 'obs': {
      const body: Record<string, unknown> = { kind: cmd };
      if (cmd === 'obs') {
        if (positional.length === 0) throw new UsageError('nbg-sync obs needs at least one SOURCE (an object or a folder ending in /)');
        body.sources = positional;
        if (flags.has('into')) body.path = flags.get('into');
      } else {
        if (positional.length > 1) throw new UsageError(`nbg-sync ${cmd} takes one PATH`);
        if (positional[0]) body.path = positional[0];
        const prefix = flags.get(cmd === 'push' ? 'to' : 'from');
        if (prefix !== undefined) body.prefix = prefix;
        if (flags.has('delete')) body.delete = true;
        if (flags.has('max-delete')) body.maxDelete = num('max-delete');
      }
      if (flags.has('dry-run')) body.dryRun = true;
      if (flags.has('concurrency')) body.concurrency = num('concurrency');
      const res = await call<Job>(socket, 'POST', 'jobs', body);
      if (res.status !== 200 && res.status !== 202) return fail(res);
      if (res.status === 200 || flags.has('no-wait')) return report(res.body, json);
      return follow(socket, res.body, json);
    }
    case 'ls': {
      const prefix = positional[0] ?? '';
      const recursive = flags.has('recursive') || flags.has('r');
      let token: string | null = null;
      do {
        const q: URLSearchParams = new URLSearchParams({ prefix, delimiter: recursive ? '' : '/', ...(token ? { continuationToken: token } : {}) });
        type Listing = { objects: { path: string; size: number; lastModified: string }[]; prefixes: string[]; continuationToken: string | null };
        const res: { status: number; body: Listing } = await call<Listing>(socket, 'GET', `objects?${q.toString()}`);
        if (res.status !== 200) return fail(res);
        for (const p of res.body.prefixes) process.stdout.write(`${'DIR'.padStart(12)}  ${''.padEnd(24)}  ${p}\n`);
        for (const o of res.body.objects) process.stdout.write(`${String(o.size).padStart(12)}  ${o.lastModified.padEnd(24)}  ${o.path}\n`);
        token = res.body.continuationToken;
      } while (token);
      return 0;
    }
    case 'status': {
      if (positional[0]) {
        const res = await call<Job>(socket, 'GET', `jobs/${encodeURIComponent(positional[0])}`);
        return res.status === 200 ? report(res.body, json) : fail(res);
      }
      const res = await call<{ items: Job[] }>(socket, 'GET', 'jobs');
      if (res.status !== 200) return fail(res);
      if (json) process.stdout.write(JSON.stringify(res.body.items, null, 2) + '\n');
      else for (const j of res.body.items) process.stdout.write(describe(j) + '\n');
      return 0;
    }
    case 'cancel': {
      if (!positional[0]) throw new UsageError('nbg-sync cancel needs the sync id (see nbg-sync status)');
      const res = await call<Job>(socket, 'DELETE', `jobs/${encodeURIComponent(positional[0])}`);
      return res.status === 200 ? report(res.body, json) : fail(res);
    }
    default:
      throw new UsageError(`unknown command "${cmd}"`);
  }
}

/** Entry point of the bundle. */
export function main(): void {
  run(process.argv.slice(2)).then(
    code => {
      process.exitCode = code;
    },
    err => {
      process.stderr.write(`nbg-sync: ${(err as Error).message}${err instanceof UsageError ? '\nRun nbg-sync --help for usage.' : ''}\n`);
      process.exitCode = err instanceof UsageError ? 2 : 1;
    }
  );
}
