/**
 * The SQL seam: one small async interface over SQLite (embedded default) and PostgreSQL
 * (several gateway replicas). Statements use `$1, $2…` placeholders and portable SQL;
 * times are integers (ms since the epoch) and JSON is text, so one schema serves both.
 */

export interface RunResult {
  /** Rows changed by an INSERT/UPDATE/DELETE. */
  changes: number;
}

export interface ISqlDatabase {
  readonly dialect: 'sqlite' | 'postgres';
  all<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  get<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T | undefined>;
  run(sql: string, params?: readonly unknown[]): Promise<RunResult>;
  /**
   * Runs `fn` in a transaction; commits when it resolves, rolls back when it throws.
   *
   * #### Notes
   * Inside `fn`, use only `tx`: on SQLite other callers wait until the transaction ends, so
   * using the outer handle inside would deadlock.
   */
  transaction<T>(fn: (tx: ISqlDatabase) => Promise<T>): Promise<T>;
  dispose(): Promise<void>;
}

/** Opens the database named by a URL (`sqlite:<file>`, `sqlite::memory:`, `postgres://…`). */
export async function openDatabase(url: string): Promise<ISqlDatabase> {
  if (url.startsWith('sqlite:')) {
    const { SqliteDatabase } = await import('./sqlite');
    return new SqliteDatabase(url.slice('sqlite:'.length));
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const { PostgresDatabase } = await import('./postgres');
    return PostgresDatabase.connect(url);
  }
  throw new Error(`database URL must start with sqlite: or postgres://, got "${url.replace(/\/\/[^@]*@/, '//…@')}"`);
}
