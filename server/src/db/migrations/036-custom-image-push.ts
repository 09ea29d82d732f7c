/**
 * Pushing a saved image to the registry happens after the image is ready on this host (a first
 * push of a multi-GB base can take a minute), so its state is kept on its own.
 */
import type { Migration } from '../migrations';

export const migration: Migration = {
  id: 36,
  name: 'custom image push state',
  sql: [
    `ALTER TABLE custom_images ADD COLUMN push_status TEXT`,
    `ALTER TABLE custom_images ADD COLUMN push_error TEXT`
  ]
};
