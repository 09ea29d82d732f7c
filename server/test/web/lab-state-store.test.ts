import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type ISqlDatabase } from '../../src/db/database';
import { migrate } from '../../src/db/migrations';
import { LabStateStore } from '../../src/web/lab-state-store';
import { startPostgres, type TestPostgres } from '../utils/postgres';

/** The same checks on SQLite (embedded) and PostgreSQL (replicas): upserts, per-user rows. */
function describeLabStateStore(name: string, open: () => Promise<ISqlDatabase>, close?: () => Promise<void>): void {
  describe(`LabStateStore on ${name}`, () => {
    let db: ISqlDatabase;
    let store: LabStateStore;

    beforeAll(async () => {
      db = await open();
      await migrate(db);
      for (const u of ['u1', 'u2']) await db.run('INSERT INTO users (id, name, role, created_at) VALUES ($1, $2, $3, $4)', [u, u, 'user', Date.now()]);
      store = new LabStateStore(db);
    });
    afterAll(async () => {
      await db?.dispose();
      await close?.();
    });

    it('should replace a setting in place and keep users apart', async () => {
      await store.saveSetting('u1', 'p:a', '{"x": 1}');
      const first = (await store.setting('u1', 'p:a'))!;
      await new Promise(r => setTimeout(r, 5));
      await store.saveSetting('u1', 'p:a', '{"x": 2} // later');
      const second = (await store.setting('u1', 'p:a'))!;
      expect(second.raw).toBe('{"x": 2} // later');
      expect(second.createdAt).toBe(first.createdAt);
      expect(second.updatedAt).toBeGreaterThan(first.updatedAt);
      expect(typeof second.updatedAt).toBe('number');
      expect(await store.setting('u2', 'p:a')).toBeUndefined();
      expect([...(await store.settings('u1')).keys()]).toEqual(['p:a']);
    });

    it('should keep workspaces per user and instance', async () => {
      await store.saveWorkspace('u1', 'i1', 'default', '{"data":{"a":1}}');
      await store.saveWorkspace('u1', 'i1', 'default', '{"data":{"a":2}}');
      await store.saveWorkspace('u1', 'i2', 'default', '{"data":{}}');
      expect((await store.workspace('u1', 'i1', 'default'))!.data).toBe('{"data":{"a":2}}');
      expect((await store.workspaces('u1', 'i1')).map(w => w.id)).toEqual(['default']);
      expect(await store.workspace('u2', 'i1', 'default')).toBeUndefined();
      expect(await store.deleteWorkspace('u1', 'i1', 'default')).toBe(true);
      expect(await store.deleteWorkspace('u1', 'i1', 'default')).toBe(false);
      expect((await store.workspaces('u1', 'i2')).length).toBe(1);
    });
  });
}

describeLabStateStore('SQLite', () => openDatabase('sqlite::memory:'));

let pg: TestPostgres | undefined;
describeLabStateStore(
  'PostgreSQL',
  async () => {
    pg = await startPostgres();
    return openDatabase(await pg.createDatabase());
  },
  async () => pg?.stop()
);
