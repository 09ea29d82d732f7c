/**
 * Sign-in attempts are claimed before the password is checked (issue 11: parallel guesses
 * must not all pass the rate limit): each row names the attempt that wrote it, so a sign-in
 * that succeeds removes exactly its own provisional row.
 */
import type { Migration } from '../migrations';

export const migration: Migration = {
  id: 60,
  name: 'sign-in attempts claimed before the password check',
  sql: [`ALTER TABLE login_failures ADD COLUMN attempt TEXT`, `CREATE INDEX login_failures_attempt ON login_failures(attempt)`]
};
