/**
 * The SSH stores on both SQL backends (SQLite and PostgreSQL started by the test): keys with
 * their uniqueness and quota rules under concurrency, per-instance settings (upsert), and the
 * instance lookup SSH logins use.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
// ssh2's own ed25519 generator writes a malformed key 1 time in 256 (see src/ssh/ed25519.ts).
import { generateEd25519Pair } from '../../src/ssh/ed25519';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type ISqlDatabase } from '../../src/db/database';
import { migrate } from '../../src/db/migrations';
import { UserStore } from '../../src/auth/user-store';
import { SshKeyStore, MAX_KEYS_PER_USER } from '../../src/ssh/key-store';
import { SshSettingsStore } from '../../src/ssh/settings-store';
import { SshAuth } from '../../src/ssh/ssh-auth';
import { parsePublicKey } from '../../src/ssh/ssh-keys';
import { startPostgres, type TestPostgres } from '../utils/postgres';

const HAS_POSTGRES = existsSync('/usr/lib/postgresql');

/** Fresh keys are slow to make one by one; these are enough for every case. */
const KEYS = Array.from({ length: MAX_KEYS_PER_USER + 2 }, () => parsePublicKey(generateEd25519Pair('').public));

function storeContract(name: string, open: () => Promise<{ db: ISqlDatabase; dispose(): Promise<void> }>): void {
  describe(name, () => {
    let db: ISqlDatabase;
    let dispose: () => Promise<void>;
    let userId: string;
    let otherId: string;

    beforeAll(async () => {
      ({ db, dispose } = await open());
      await migrate(db);
      const users = new UserStore(db);
      userId = (await users.create('ann', 'user', null)).id;
      otherId = (await users.create('ben', 'user', null)).id;
    }, 120_000);

    afterAll(async () => {
      await dispose?.();
    });

    it('should keep keys unique per user by fingerprint and name, not across users', async () => {
      const keys = new SshKeyStore(db);
      const a = await keys.add(userId, 'a', KEYS[0]!);
      await expect(keys.add(userId, 'b', KEYS[0]!)).rejects.toMatchObject({ code: 'NB_ERR_SSH_KEY_EXISTS' });
      await expect(keys.add(userId, 'a', KEYS[1]!)).rejects.toMatchObject({ code: 'NB_ERR_SSH_KEY_EXISTS' });
      await keys.add(otherId, 'a', KEYS[0]!);
      expect((await keys.find(userId, KEYS[0]!.fingerprint))?.id).toBe(a.id);
      await keys.touch(a.id, 1234);
      expect((await keys.get(userId, a.id)).lastUsedAt).toBe(1234);
      await expect(keys.get(otherId, a.id)).rejects.toMatchObject({ code: 'NB_ERR_SSH_KEY_NOT_FOUND' });
      await keys.remove(userId, a.id);
      expect(await keys.find(userId, KEYS[0]!.fingerprint)).toBeUndefined();
      expect((await keys.list(otherId)).map(k => k.name)).toEqual(['a']);
    });

    it('should hold the key quota under concurrent uploads', async () => {
      const keys = new SshKeyStore(db);
      const u = (await new UserStore(db).create(`q-${name}`, 'user', null)).id;
      const results = await Promise.allSettled(KEYS.slice(0, MAX_KEYS_PER_USER + 2).map((k, i) => keys.add(u, `k${i}`, k)));
      expect(results.filter(r => r.status === 'fulfilled')).toHaveLength(MAX_KEYS_PER_USER);
      const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(refused.map(r => (r.reason as { code: string }).code)).toEqual(['NB_ERR_SSH_KEY_QUOTA', 'NB_ERR_SSH_KEY_QUOTA']);
    });

    it('should store per-instance settings, defaults first, then replace them', async () => {
      const settings = new SshSettingsStore(db);
      await insertInstance(db, 'inst00000001', userId, 'dev');
      expect(await settings.get('inst00000001')).toEqual({ enabled: true, allowCidrs: [] });
      await settings.put('inst00000001', { enabled: false, allowCidrs: ['10.0.0.0/8'] });
      await settings.put('inst00000001', { enabled: true, allowCidrs: ['192.0.2.0/24', '2001:db8::/32'] });
      expect(await settings.get('inst00000001')).toEqual({ enabled: true, allowCidrs: ['192.0.2.0/24', '2001:db8::/32'] });
    });

    it('should find a user\'s live instance by name or id, never another user\'s', async () => {
      await insertInstance(db, 'inst00000002', otherId, 'dev');
      const auth = new SshAuth({
        db, users: new UserStore(db), keys: new SshKeyStore(db), settings: new SshSettingsStore(db),
        resolveOpen: async () => { throw new Error('not used'); }, imageAllowsSsh: async () => true
      });
      expect((await auth.findInstance(userId, 'dev'))?.id).toBe('inst00000001');
      expect((await auth.findInstance(userId, 'inst00000001'))?.name).toBe('dev');
      expect(await auth.findInstance(userId, 'inst00000002')).toBeUndefined();
      expect((await auth.findInstance(otherId, 'dev'))?.id).toBe('inst00000002');
    });
  });
}

async function insertInstance(db: ISqlDatabase, id: string, ownerId: string, name: string): Promise<void> {
  const now = Date.now();
  await db.run(
    `INSERT INTO instances (id, owner_id, name, description, image, flavor, storage_type, storage_size_gb, status, agent_token, driver, created_at, updated_at)
     VALUES ($1, $2, $3, '', 'python3.11-cpu-debian12', 'cpu.2u8g', 'local', 5, 'RUNNING', 'token', 'fake', $4, $4)`,
    [id, ownerId, name, now]
  );
}

storeContract('SSH stores on SQLite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'nbg-ssh-stores-'));
  const db = await openDatabase(`sqlite:${join(dir, 'state.db')}`);
  return { db, dispose: async () => { await db.dispose(); await rm(dir, { recursive: true, force: true }); } };
});

describe.runIf(HAS_POSTGRES)('on PostgreSQL', () => {
  let pg: TestPostgres | undefined;
  afterAll(async () => {
    await pg?.stop();
  });
  storeContract('SSH stores on PostgreSQL', async () => {
    pg = await startPostgres();
    const db = await openDatabase(await pg.createDatabase());
    return { db, dispose: () => db.dispose() };
  });
});
