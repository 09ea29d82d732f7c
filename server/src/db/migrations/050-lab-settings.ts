/**
 * JupyterLab state kept by the gateway (issue 10): user settings, shared by all of a user's
 * instances, and workspaces (layouts), per user and instance because they name files that
 * exist in one instance only.
 */
import type { Migration } from '../migrations';

export const migration: Migration = {
  id: 50,
  name: 'jupyterlab settings and workspaces',
  sql: [
    `CREATE TABLE lab_settings (
      user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      plugin_id TEXT NOT NULL,
      raw TEXT NOT NULL,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL,
      PRIMARY KEY (user_id, plugin_id)
    )`,
    `CREATE TABLE lab_workspaces (
      user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      instance_id TEXT NOT NULL,
      workspace_id TEXT NOT NULL,
      data TEXT NOT NULL,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL,
      PRIMARY KEY (user_id, instance_id, workspace_id)
    )`
  ]
};
