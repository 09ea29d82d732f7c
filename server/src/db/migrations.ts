/**
 * Schema migrations, in order; each runs once, inside a transaction, on SQLite and PostgreSQL.
 * Append new migrations; never edit one that has shipped.
 */
import type { ISqlDatabase } from './database';
import { migration as core } from './migrations/001-core';
import { migration as nextFlavor } from './migrations/006-next-flavor';
import { migration as startProgress } from './migrations/007-start-progress';
import { migration as ssh } from './migrations/010-ssh';
import { migration as storage } from './migrations/020-storage';
import { migration as jobs } from './migrations/040-jobs';
import { migration as audit } from './migrations/002-audit';
import { migration as accessControl } from './migrations/003-access-control';
import { migration as leases } from './migrations/004-leases';
import { migration as idempotency } from './migrations/005-idempotency';
import { migration as labSettings } from './migrations/050-lab-settings';
import { migration as customImages } from './migrations/035-custom-images';
import { migration as customImagePush } from './migrations/036-custom-image-push';
import { migration as loginAttempts } from './migrations/060-login-attempts';

export interface Migration {
  id: number;
  name: string;
  /** Statements run in order; portable SQL unless `postgres`/`sqlite` override them. */
  sql: string[];
  postgres?: string[];
  sqlite?: string[];
}

/**
 * Every migration, in order. Each area adds its own file under `migrations/` and one line
 * here; ids are unique and ascending (reserved ranges: 1–9 core and control plane,
 * 10–19 SSH, 20–29 storage, 30–39 images, 40–49 jobs, 60–69 reliability).
 */
export const MIGRATIONS: readonly Migration[] = [core, nextFlavor, startProgress, audit, accessControl, leases, idempotency, ssh, storage, customImages, customImagePush, labSettings, jobs, loginAttempts].sort((a, b) => a.id - b.id);

/** Applies pending migrations; safe to call from several replicas at once. */
export async function migrate(db: ISqlDatabase, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  const ledger = `CREATE TABLE IF NOT EXISTS schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`;
  if (db.dialect === 'postgres') {
    // Concurrent CREATE TABLE IF NOT EXISTS can still collide in PostgreSQL's catalog (a
    // unique violation on pg_type) when replicas start together: serialise it.
    await db.transaction(async tx => {
      await tx.get('SELECT pg_advisory_xact_lock(7356221) AS locked');
      await tx.run(ledger);
    });
  } else {
    await db.run(ledger);
  }
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
