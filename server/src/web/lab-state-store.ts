/**
 * Persistence of JupyterLab's server-side state: a user's settings (one raw JSON5 text per
 * plug-in, shared by all of the user's instances) and workspaces (layouts, per user and
 * instance). Both survive instance deletion of the container: they live in the gateway's DB.
 */
import type { ISqlDatabase } from '../db/database';

export interface StoredSetting {
  pluginId: string;
  raw: string;
  createdAt: number;
  updatedAt: number;
}

export interface StoredWorkspace {
  id: string;
  data: string;
  createdAt: number;
  updatedAt: number;
}

export class LabStateStore {
  constructor(private readonly _db: ISqlDatabase) {}

  async settings(userId: string): Promise<Map<string, StoredSetting>> {
    const rows = await this._db.all<{ plugin_id: string; raw: string; created_at: number; updated_at: number }>(
      'SELECT plugin_id, raw, created_at, updated_at FROM lab_settings WHERE user_id = $1',
      [userId]
    );
    return new Map(rows.map(r => [r.plugin_id, { pluginId: r.plugin_id, raw: r.raw, createdAt: Number(r.created_at), updatedAt: Number(r.updated_at) }]));
  }

  async setting(userId: string, pluginId: string): Promise<StoredSetting | undefined> {
    const r = await this._db.get<{ raw: string; created_at: number; updated_at: number }>(
      'SELECT raw, created_at, updated_at FROM lab_settings WHERE user_id = $1 AND plugin_id = $2',
      [userId, pluginId]
    );
    return r ? { pluginId, raw: r.raw, createdAt: Number(r.created_at), updatedAt: Number(r.updated_at) } : undefined;
  }

  async saveSetting(userId: string, pluginId: string, raw: string): Promise<void> {
    const now = Date.now();
    await this._db.run(
      `INSERT INTO lab_settings (user_id, plugin_id, raw, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
       ON CONFLICT (user_id, plugin_id) DO UPDATE SET raw = excluded.raw, updated_at = excluded.updated_at`,
      [userId, pluginId, raw, now]
    );
  }

  async workspaces(userId: string, instanceId: string): Promise<StoredWorkspace[]> {
    const rows = await this._db.all<{ workspace_id: string; data: string; created_at: number; updated_at: number }>(
      'SELECT workspace_id, data, created_at, updated_at FROM lab_workspaces WHERE user_id = $1 AND instance_id = $2 ORDER BY workspace_id',
      [userId, instanceId]
    );
    return rows.map(r => ({ id: r.workspace_id, data: r.data, createdAt: Number(r.created_at), updatedAt: Number(r.updated_at) }));
  }

  async workspace(userId: string, instanceId: string, id: string): Promise<StoredWorkspace | undefined> {
    const r = await this._db.get<{ data: string; created_at: number; updated_at: number }>(
      'SELECT data, created_at, updated_at FROM lab_workspaces WHERE user_id = $1 AND instance_id = $2 AND workspace_id = $3',
      [userId, instanceId, id]
    );
    return r ? { id, data: r.data, createdAt: Number(r.created_at), updatedAt: Number(r.updated_at) } : undefined;
  }

  async saveWorkspace(userId: string, instanceId: string, id: string, data: string): Promise<void> {
    const now = Date.now();
    await this._db.run(
      `INSERT INTO lab_workspaces (user_id, instance_id, workspace_id, data, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)
       ON CONFLICT (user_id, instance_id, workspace_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`,
      [userId, instanceId, id, data, now]
    );
  }

  /** @returns false when there was nothing to delete. */
  async deleteWorkspace(userId: string, instanceId: string, id: string): Promise<boolean> {
    const r = await this._db.run('DELETE FROM lab_workspaces WHERE user_id = $1 AND instance_id = $2 AND workspace_id = $3', [userId, instanceId, id]);
    return r.changes > 0;
  }
}
