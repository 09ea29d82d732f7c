/**
 * The SQL seam on PostgreSQL (started by the test from Debian's package): migrations from
 * several replicas at once, the compare-and-set and quota rules, and the control plane's
 * stores, all on the same schema SQLite uses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type ISqlDatabase } from '../../src/db/database';
import { MIGRATIONS, migrate } from '../../src/db/migrations';
import { createLogger } from '../../src/logger';
import { SqlAuditLog } from '../../src/audit/sql-audit-log';
import { LeaseStore } from '../../src/leases/lease-store';
import { LoginRateLimiter } from '../../src/auth/login-rate-limit';
import { UserStore } from '../../src/auth/user-store';
import { FlavorGrantStore } from '../../src/policy/flavor-grants';
import { PolicyStore } from '../../src/policy/policy-store';
import { FakeDriver } from '../../src/drivers/fake/fake-driver';
import type { NotebookInstance } from '../../src/api/types';
import { startPostgres, type TestPostgres } from '../utils/postgres';
import { startTestApp, waitFor } from '../utils/app';

describe('PostgreSQL', () => {
  let pg: TestPostgres;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    await pg?.stop();
  });

  describe('migrate()', () => {
    it('should apply every migration once when several replicas start together', async () => {
      const url = await pg.createDatabase();
      const dbs = await Promise.all(Array.from({ length: 4 }, () => openDatabase(url)));
      try {
        const results = await Promise.all(dbs.map(db => migrate(db)));
        const applied = results.flat().sort((a, b) => a - b);
        expect(applied).toEqual(MIGRATIONS.map(m => m.id).sort((a, b) => a - b));
        expect(await migrate(dbs[0]!)).toEqual([]);
        const rows = await dbs[0]!.all<{ id: number }>('SELECT id FROM schema_migrations ORDER BY id');
        expect(rows.map(r => Number(r.id))).toEqual(MIGRATIONS.map(m => m.id).sort((a, b) => a - b));
      } finally {
        for (const db of dbs) await db.dispose();
      }
    });
  });

  describe('control-plane stores', () => {
    let db: ISqlDatabase;
    let userId: string;
    beforeAll(async () => {
      db = await openDatabase(await pg.createDatabase());
      await migrate(db);
      userId = (await new UserStore(db).create('alice', 'user', null)).id;
    });
    afterAll(async () => {
      await db?.dispose();
    });

    it('should roll a transaction back when it throws', async () => {
      await expect(db.transaction(async tx => {
        await tx.run(`INSERT INTO flavor_grants (user_id, flavor, granted_by, granted_at) VALUES ($1, 'gpu.2x', NULL, 1)`, [userId]);
        throw new Error('boom');
      })).rejects.toThrow('boom');
      expect(await new FlavorGrantStore(db).list(userId)).toEqual([]);
    });

    it('should keep tokens with scopes, policies, grants and the audit trail', async () => {
      const users = new UserStore(db);
      const { token } = await users.issueToken(userId, 'api', 'ci', Date.now() + 60_000, ['notebook:get']);
      const found = await users.resolveToken(token);
      expect(found !== 'expired' && found?.scope).toEqual(['notebook:get']);
      const { token: old } = await users.issueToken(userId, 'api', 'old', Date.now() - 1, null);
      expect(await users.resolveToken(old)).toBe('expired');
      const grants = new FlavorGrantStore(db);
      expect(await grants.grant(userId, 'gpu.2x', userId)).toBe(true);
      expect(await grants.grant(userId, 'gpu.2x', userId)).toBe(false);
      const policies = new PolicyStore(db);
      await policies.set(userId, { statements: [{ effect: 'Deny', actions: ['notebook:delete'] }] }, userId);
      expect((await policies.get(userId))?.statements).toHaveLength(1);
      const audit = new SqlAuditLog({ db, retentionDays: 7, log: createLogger('silent') });
      await audit.record({ action: 'createNotebook', actor: { id: userId, name: 'alice' }, sourceIp: '::1', resource: { type: 'notebook', id: 'n1', ownerId: userId }, result: 'success', details: { a: 1 } });
      const page = await audit.query({ visibleTo: userId, actions: ['createNotebook'], limit: 10, offset: 0 });
      expect(page.total).toBe(1);
      expect(page.items[0]!.details).toEqual({ a: 1 });
      await audit.dispose();
    });

    it('should let exactly one of many claims on a lease win', async () => {
      await db.run(
        `INSERT INTO instances (id, owner_id, name, image, flavor, storage_type, storage_size_gb, status, agent_token, driver, created_at, updated_at)
         VALUES ('leaseinst001', $1, 'l', 'img', 'cpu.2u8g', 'local', 5, 'RUNNING', 't', 'fake', 1, 1)`, [userId]
      );
      const leases = new LeaseStore(db);
      await leases.set('leaseinst001', { timingHours: 1, idleMinutes: 2.5 });
      const lease = (await leases.get('leaseinst001'))!;
      expect(lease.idleMinutes).toBe(2.5);
      const wins = await Promise.all(Array.from({ length: 10 }, () => leases.claim('leaseinst001', lease.version)));
      expect(wins.filter(Boolean)).toHaveLength(1);
      // Newer activity than the claimer saw also makes a claim fail.
      const now = (await leases.get('leaseinst001'))!;
      await leases.noteActivity('leaseinst001', Date.now() + 1_000);
      expect(await leases.claim('leaseinst001', now.version, { activityNotAfter: Date.now() })).toBe(false);
    });

    it('should count sign-in failures across callers', async () => {
      const limiter = new LoginRateLimiter({ db, maxFailures: 2, windowMs: 60_000 });
      await Promise.all([limiter.failed('bob', '10.0.0.1'), limiter.failed('bob', '10.0.0.2')]);
      expect(await limiter.retryAfter('bob', '10.0.0.3')).toBeGreaterThan(0);
      expect(await limiter.retryAfter('carol', '10.0.0.3')).toBe(0);
    });
  });

  describe('the gateway on PostgreSQL', () => {
    it('should run the notebook lifecycle and hold the quota under concurrent creates', async () => {
      const t = await startTestApp({ driver: new FakeDriver(), config: { databaseUrl: await pg.createDatabase(), instanceQuota: 3 } });
      try {
        expect(((await (await t.api('/api/v1/health')).json()) as { database: string }).database).toBe('postgres');
        const results = await Promise.all(Array.from({ length: 8 }, (_, i) =>
          t.api('/api/v1/notebooks', { method: 'POST', token: t.adminToken, json: { name: `pg${i}`, image: 'python3.11-cpu-debian12' } })));
        expect(results.filter(r => r.status === 201)).toHaveLength(3);
        expect(results.filter(r => r.status === 403)).toHaveLength(5);
        const inst = (await results.find(r => r.status === 201)!.json()) as NotebookInstance;
        await waitFor(async () => ((await (await t.api(`/api/v1/notebooks/${inst.id}`, { token: t.adminToken })).json()) as NotebookInstance).status === 'RUNNING', 'RUNNING');
        // Two concurrent stops: one wins, the other is told why.
        const stops = await Promise.all([1, 2].map(() => t.api(`/api/v1/notebooks/${inst.id}/stop`, { method: 'POST', token: t.adminToken })));
        expect(stops.map(s => s.status).sort()).toEqual([202, 409]);
        const trail = (await (await t.api(`/api/v1/audit?resourceId=${inst.id}&action=stopNotebook`, { token: t.adminToken })).json()) as { items: { result: string }[] };
        expect(trail.items.map(i => i.result).sort()).toEqual(['failure', 'success']);
      } finally {
        await t.dispose();
      }
    });
  });
});
