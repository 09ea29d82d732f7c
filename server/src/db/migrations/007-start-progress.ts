/**
 * The progress of an instance's current or last start, kept with the instance so that every
 * replica's event stream and `GET …/progress` show it, not only the replica running the start.
 */
import type { Migration } from '../migrations';

export const migration: Migration = {
  id: 7,
  name: 'start progress',
  sql: [`ALTER TABLE instances ADD COLUMN start_progress TEXT`]
};
