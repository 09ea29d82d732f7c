import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type ISqlDatabase } from '../../src/db/database';
import { migrate } from '../../src/db/migrations';
import { createLogger } from '../../src/logger';
import { SqlAuditLog } from '../../src/audit/sql-audit-log';
import { SYSTEM_ACTOR, type AuditEvent } from '../../src/audit/audit';

const alice = { id: 'u-alice', name: 'alice' };
const bob = { id: 'u-bob', name: 'bob' };

function event(over: Partial<AuditEvent> = {}): AuditEvent {
  return {
    action: 'createNotebook', actor: alice, sourceIp: '10.0.0.1',
    resource: { type: 'notebook', id: 'nb1', name: 'first', ownerId: alice.id }, result: 'success', ...over
  };
}

describe('SqlAuditLog', () => {
  let db: ISqlDatabase;
  let log: SqlAuditLog;

  beforeEach(async () => {
    db = await openDatabase('sqlite::memory:');
    await migrate(db);
    log = new SqlAuditLog({ db, retentionDays: 7, log: createLogger('silent') });
  });
  afterEach(async () => {
    await log.dispose();
    await db.dispose();
  });

  describe('#record()', () => {
    it('should store time, actor, source IP, resource, result and details', async () => {
      const before = Date.now();
      await log.record(event({ details: { code: 'X' } }));
      const { items, total } = await log.query({ limit: 10, offset: 0 });
      expect(total).toBe(1);
      const r = items[0]!;
      expect(Date.parse(r.time)).toBeGreaterThanOrEqual(before - 1);
      expect(r).toMatchObject({
        action: 'createNotebook', actor: alice, sourceIp: '10.0.0.1',
        resource: { type: 'notebook', id: 'nb1', name: 'first', ownerId: alice.id }, result: 'success', details: { code: 'X' }
      });
    });

    it('should not throw when the database is gone', async () => {
      await db.dispose();
      await expect(log.record(event())).resolves.toBeUndefined();
      db = await openDatabase('sqlite::memory:');
    });
  });

  describe('#query()', () => {
    it('should filter by action, actor, resource, result and time, newest first, with paging', async () => {
      await log.record(event());
      await new Promise(r => setTimeout(r, 5));
      const mid = Date.now();
      await log.record(event({ action: 'stopNotebook', actor: SYSTEM_ACTOR, sourceIp: null, details: { reason: 'idle' } }));
      await log.record(event({ action: 'deleteNotebook', actor: bob, resource: { type: 'notebook', id: 'nb2' }, result: 'failure' }));
      const all = (await log.query({ limit: 10, offset: 0 })).items.map(r => r.action);
      expect(all.at(-1)).toBe('createNotebook');
      expect(all.slice(0, 2).sort()).toEqual(['deleteNotebook', 'stopNotebook']);
      expect((await log.query({ actions: ['stopNotebook', 'createNotebook'], limit: 10, offset: 0 })).total).toBe(2);
      expect((await log.query({ actorName: 'bob', limit: 10, offset: 0 })).items[0]!.resource.id).toBe('nb2');
      expect((await log.query({ resourceId: 'nb1', limit: 10, offset: 0 })).total).toBe(2);
      expect((await log.query({ result: 'failure', limit: 10, offset: 0 })).total).toBe(1);
      expect((await log.query({ since: mid, limit: 10, offset: 0 })).total).toBe(2);
      expect((await log.query({ until: mid, limit: 10, offset: 0 })).total).toBe(1);
      const page = await log.query({ limit: 1, offset: 1 });
      expect(page.total).toBe(3);
      expect(page.items).toHaveLength(1);
    });

    it("should show a user their own actions and what was done to their resources, not others'", async () => {
      await log.record(event());
      await log.record(event({ action: 'stopNotebook', actor: SYSTEM_ACTOR, sourceIp: null }));
      await log.record(event({ actor: bob, resource: { type: 'notebook', id: 'nb9', ownerId: bob.id } }));
      const mine = await log.query({ visibleTo: alice.id, limit: 10, offset: 0 });
      expect(mine.items.map(r => r.actor.name).sort()).toEqual(['alice', 'system']);
      expect((await log.query({ visibleTo: bob.id, limit: 10, offset: 0 })).total).toBe(1);
    });
  });

  describe('#purgeExpired()', () => {
    it('should delete records older than the retention period only', async () => {
      await log.record(event());
      const eightDaysAgo = Date.now() - 8 * 86_400_000;
      await db.run(
        `INSERT INTO audit_events (id, at, action, actor_id, actor_name, source_ip, resource_type, resource_id, result)
         VALUES ('old', $1, 'createNotebook', 'u', 'u', NULL, 'notebook', 'x', 'success')`,
        [eightDaysAgo]
      );
      expect((await log.query({ limit: 10, offset: 0 })).total).toBe(2);
      expect(await log.purgeExpired()).toBe(1);
      const left = await log.query({ limit: 10, offset: 0 });
      expect(left.items.map(r => r.id)).not.toContain('old');
      expect(left.total).toBe(1);
    });
  });
});
