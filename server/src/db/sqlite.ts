/**
 * SQLite through better-sqlite3 (synchronous, in-process). Async transactions are made safe
 * by a lock: while one is open, every other statement waits for it.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { ISqlDatabase, RunResult } from './database';

type Db = BetterSqlite3.Database;

/** `$1` → `@p1`: better-sqlite3 binds named parameters from an object, not `?NNN`. */
function adapt(sql: string): string {
  return sql.replace(/\$(\d+)/g, '@p$1');
}

/** Positional values → `{ p1, p2, … }`; booleans → 0/1, undefined → NULL. */
function bind(params: readonly unknown[]): [Record<string, unknown>] | [] {
  if (params.length === 0) return [];
  const out: Record<string, unknown> = {};
  params.forEach((p, i) => {
    out[`p${i + 1}`] = typeof p === 'boolean' ? (p ? 1 : 0) : p === undefined ? null : p;
  });
  return [out];
}

class SqliteHandle implements ISqlDatabase {
  readonly dialect = 'sqlite' as const;
  private readonly _cache = new Map<string, BetterSqlite3.Statement>();

  constructor(
    protected readonly _db: Db,
    private readonly _gate: () => Promise<void>
  ) {}

  private _stmt(sql: string): BetterSqlite3.Statement {
    let s = this._cache.get(sql);
    if (!s) {
      s = this._db.prepare(adapt(sql));
      this._cache.set(sql, s);
    }
    return s;
  }

  async all<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    await this._gate();
    return this._stmt(sql).all(...bind(params)) as T[];
  }

  async get<T>(sql: string, params: readonly unknown[] = []): Promise<T | undefined> {
    await this._gate();
    return this._stmt(sql).get(...bind(params)) as T | undefined;
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<RunResult> {
    await this._gate();
    const stmt = this._stmt(sql);
    if (!stmt.reader) return { changes: stmt.run(...bind(params)).changes };
    stmt.all(...bind(params));
    return { changes: 0 };
  }

  transaction<T>(_fn: (tx: ISqlDatabase) => Promise<T>): Promise<T> {
    throw new Error('nested transactions are not supported');
  }

  async dispose(): Promise<void> {}
}

export class SqliteDatabase extends SqliteHandle {
  private _tx: Promise<void> | null = null;

  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    const db = new BetterSqlite3(file);
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    super(db, () => this._waitForTx());
  }

  private async _waitForTx(): Promise<void> {
    while (this._tx) await this._tx;
  }

  override async transaction<T>(fn: (tx: ISqlDatabase) => Promise<T>): Promise<T> {
    // Checked and claimed with no await in between: when a transaction ends, every waiter
    // wakes, and only the first to run may begin the next one (the others wait again).
    while (this._tx) await this._tx;
    let release!: () => void;
    this._tx = new Promise<void>(r => (release = r));
    const tx = new SqliteHandle(this._db, async () => undefined);
    this._db.exec('BEGIN IMMEDIATE');
    try {
      const result = await fn(tx);
      this._db.exec('COMMIT');
      return result;
    } catch (err) {
      this._db.exec('ROLLBACK');
      throw err;
    } finally {
      this._tx = null;
      release();
    }
  }

  override async dispose(): Promise<void> {
    await this._waitForTx();
    if (this._db.open) this._db.close();
  }
}
