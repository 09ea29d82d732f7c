/**
 * First start: create the administrator. The password comes from configuration or is
 * generated and written to `<dataDir>/initial-admin-password` (mode 0600) for the operator.
 */
import { randomBytes } from 'node:crypto';
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../logger';
import { hashPassword } from './passwords';
import type { UserStore } from './user-store';

export const INITIAL_PASSWORD_FILE = 'initial-admin-password';

export async function ensureFirstAdmin(
  users: UserStore,
  opts: { adminUser: string; adminPassword: string; dataDir: string },
  log: Logger
): Promise<{ created: boolean; passwordFile?: string }> {
  if ((await users.count()) > 0) return { created: false };
  const generated = !opts.adminPassword;
  const password = opts.adminPassword || randomBytes(12).toString('base64url');
  try {
    await users.create(opts.adminUser, 'admin', await hashPassword(password));
  } catch (err) {
    // Another replica created it at the same moment.
    if ((await users.byName(opts.adminUser)) !== undefined) return { created: false };
    throw err;
  }
  if (!generated) {
    log.info({ user: opts.adminUser }, 'created the first administrator with the configured password');
    return { created: true };
  }
  await mkdir(opts.dataDir, { recursive: true });
  const passwordFile = join(opts.dataDir, INITIAL_PASSWORD_FILE);
  await writeFile(passwordFile, password + '\n', { mode: 0o600 });
  log.info({ user: opts.adminUser, passwordFile }, 'created the first administrator; the password is in the file');
  return { created: true, passwordFile };
}
