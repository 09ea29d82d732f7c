/**
 * A throw-away PostgreSQL server for tests (Debian's `postgresql`): `initdb` as the
 * `postgres` user in a temp dir, listening on a free loopback port and a private socket
 * dir, with durability off (tests do not need fsync). Bounded waits; `stop()` removes it.
 */
import { execFile } from 'node:child_process';
import { chown, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface TestPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/<db>` */
  url(database?: string): string;
  /** Creates a fresh database and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  stop(): Promise<void>;
}

async function binDir(): Promise<string> {
  const root = '/usr/lib/postgresql';
  let versions: string[] = [];
  try {
    versions = (await readdir(root)).filter(v => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  } catch {
    /* not installed */
  }
  if (!versions.length) throw new Error('PostgreSQL is not installed: apt-get install postgresql (scripts/deps/test.apt lists it; ./dev test installs it)');
  return join(root, versions[0]!, 'bin');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Runs a PostgreSQL tool as the postgres user (initdb and postgres refuse to run as root). */
async function asPostgres(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  const isRoot = process.getuid?.() === 0;
  const [file, argv] = isRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  const { stdout } = await execFileP(file, argv, { timeout: timeoutMs, cwd: '/tmp' });
  return stdout;
}

export async function startPostgres(): Promise<TestPostgres> {
  const bin = await binDir();
  const dir = await mkdtemp(join(tmpdir(), 'nbg-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'postgres.log');
  if (process.getuid?.() === 0) {
    const { stdout } = await execFileP('id', ['-u', 'postgres']);
    const { stdout: gid } = await execFileP('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  let port = 0;
  const stop = async (): Promise<void> => {
    await asPostgres(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', '-t', '20', 'stop'], 30_000).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await asPostgres(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync', '--locale=C'], 60_000);
    port = await freePort();
    const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100`;
    await asPostgres(join(bin, 'pg_ctl'), ['-D', data, '-l', log, '-o', opts, '-w', '-t', '30', 'start'], 40_000);
  } catch (err) {
    const tail = await readFile(log, 'utf8').catch(() => '');
    await stop();
    throw new Error(`could not start PostgreSQL: ${(err as Error).message}\n${tail.split('\n').slice(-10).join('\n')}`);
  }
  let n = 0;
  const url = (database = 'postgres'): string => `postgres://postgres@127.0.0.1:${port}/${database}`;
  return {
    url,
    async createDatabase(name = `nbg_${process.pid}_${++n}`) {
      const pg = await import('pg');
      const client = new pg.default.Client({ connectionString: url() });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name}"`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    stop
  };
}
