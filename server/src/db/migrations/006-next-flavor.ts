/**
 * A flavor chosen for the next start (SPEC §4: "change the flavor (takes effect on next start)"),
 * settable while the instance runs; the flavor itself changes only at a start or while STOPPED.
 */
import type { Migration } from '../migrations';

export const migration: Migration = {
  id: 6,
  name: 'next flavor',
  sql: [`ALTER TABLE instances ADD COLUMN next_flavor TEXT`]
};
