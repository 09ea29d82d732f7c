/**
 * Custom images saved from instances (SPEC §5). A row exists from the moment a save starts
 * (`CREATING`, which reserves the name:tag) and becomes `READY` only when the image passed
 * every check; a failed or interrupted save removes the row, so nothing is half-registered.
 */
import type { Migration } from '../migrations';

export const migration: Migration = {
  id: 35,
  name: 'custom images',
  sql: [
    `CREATE TABLE custom_images (
      id TEXT PRIMARY KEY,
      owner_id TEXT NOT NULL REFERENCES users(id),
      name TEXT NOT NULL,
      tag TEXT NOT NULL,
      status TEXT NOT NULL,
      ref TEXT NOT NULL,
      image_id TEXT,
      base_image TEXT NOT NULL,
      source_instance_id TEXT,
      size_bytes BIGINT,
      pushed_ref TEXT,
      digest TEXT,
      description TEXT NOT NULL DEFAULT '',
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL
    )`,
    `CREATE UNIQUE INDEX custom_images_owner_name_tag ON custom_images(owner_id, name, tag)`
  ]
};
