/**
 * PostgreSQL through node-postgres, for several gateway replicas on one database.
 */
import type { ISqlDatabase, RunResult } from './database';

interface PgClientLike {
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
}

class PgHandle implements ISqlDatabase {
  readonly dialect = 'postgres' as const;
  constructor(protected readonly _client: PgClientLike) {}

  async all<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return (await this._client.query(sql, [...params])).rows as T[];
  }

  async get<T>(sql: string, params: readonly unknown[] = []): Promise<T | undefined> {
    return (await this._client.query(sql, [...params])).rows[0] as T | undefined;
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<RunResult> {
    return { changes: (await this._client.query(sql, [...params])).rowCount ?? 0 };
  }

  transaction<T>(_fn: (tx: ISqlDatabase) => Promise<T>): Promise<T> {
    throw new Error('nested transactions are not supported');
  }

  async dispose(): Promise<void> {}
}

export class PostgresDatabase extends PgHandle {
  private constructor(private readonly _pool: import('pg').Pool) {
    super(_pool);
  }

  static async connect(url: string): Promise<PostgresDatabase> {
    const pg = await import('pg');
    // BIGINT columns hold epoch milliseconds, well inside Number's exact range.
    pg.default.types.setTypeParser(20, v => Number(v));
    const pool = new pg.default.Pool({ connectionString: url, max: 10 });
    await pool.query('SELECT 1');
    return new PostgresDatabase(pool);
  }

  override async transaction<T>(fn: (tx: ISqlDatabase) => Promise<T>): Promise<T> {
    const client = await this._pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(new PgHandle(client));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  override async dispose(): Promise<void> {
    await this._pool.end();
  }
}
