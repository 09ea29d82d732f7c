/**
 * Schema migrations, in order; each runs once, inside a transaction, on SQLite and PostgreSQL.
 * Append new migrations; never edit one that has shipped.
 */
import type { ISqlDatabase } from './database';

export interface Migration {
  id: number;
  name: string;
  /** Statements run in order; portable SQL unless `postgres`/`sqlite` override them. */
  sql: string[];
  postgres?: string[];
  sqlite?: string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    name: 'users, tokens, instances',
    sql: [
      `CREATE TABLE users (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        password_hash TEXT,
        role TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0
      )`,
      `CREATE TABLE tokens (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL DEFAULT '',
        created_at BIGINT NOT NULL,
        expires_at BIGINT,
        last_used_at BIGINT
      )`,
      `CREATE INDEX tokens_user ON tokens(user_id)`,
      `CREATE TABLE instances (
        id TEXT PRIMARY KEY,
        owner_id TEXT NOT NULL REFERENCES users(id),
        name TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        image TEXT NOT NULL,
        flavor TEXT NOT NULL,
        storage_type TEXT NOT NULL,
        storage_size_gb INTEGER NOT NULL,
        status TEXT NOT NULL,
        status_reason TEXT,
        pending TEXT,
        agent_token TEXT NOT NULL,
        driver TEXT NOT NULL,
        driver_state TEXT,
        endpoint TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        started_at BIGINT,
        deleted_at BIGINT,
        purged_at BIGINT
      )`,
      `CREATE UNIQUE INDEX instances_owner_name ON instances(owner_id, name) WHERE deleted_at IS NULL`,
      `CREATE INDEX instances_owner ON instances(owner_id)`,
      `CREATE INDEX instances_status ON instances(status)`
    ]
  }
];

/** Applies pending migrations; safe to call from several replicas at once. */
export async function migrate(db: ISqlDatabase, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  await db.run(`CREATE TABLE IF NOT EXISTS schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`);
  const applied: number[] = [];
  for (const m of migrations) {
    const done = await db.transaction(async tx => {
      if (tx.dialect === 'postgres') {
        // Serialises concurrent replicas applying the same migration.
        await tx.run('LOCK TABLE schema_migrations IN EXCLUSIVE MODE');
      }
      const row = await tx.get('SELECT id FROM schema_migrations WHERE id = $1', [m.id]);
      if (row) return false;
      for (const stmt of (tx.dialect === 'postgres' ? m.postgres : m.sqlite) ?? m.sql) await tx.run(stmt);
      await tx.run('INSERT INTO schema_migrations (id, name, applied_at) VALUES ($1, $2, $3)', [m.id, m.name, Date.now()]);
      return true;
    });
    if (done) applied.push(m.id);
  }
  return applied;
}
