/**
 * JupyterLab's settings service, answered by the gateway (the part of jupyterlab_server's
 * `/lab/api/settings` the lab uses): schemas come from the web build
 * (`web/dist/lab/schemas.json`), user values from the gateway's DB, per user.
 *
 * #### Notes
 * - The stored `raw` text is what the lab sent (JSON with comments); `settings` is its parsed
 *   object. Defaults stay in the schema; the lab composes them, as with jupyterlab_server.
 * - The lab validates values against the schema before it saves; the server checks that the
 *   plug-in exists, the size, and that `raw` is a JSON object, which is what it relies on.
 */
import { readFile, stat } from 'node:fs/promises';
import { Errors } from '../errors';
import { parseJsonc } from './jsonc';
import type { LabStateStore } from './lab-state-store';

/** Largest settings document accepted for one plug-in. */
export const SETTINGS_MAX_BYTES = 256 * 1024;

export interface PluginSettings {
  id: string;
  raw: string;
  schema: unknown;
  settings: Record<string, unknown>;
  version: string;
  last_modified: string | null;
  created: string | null;
}

/** Reads `schemas.json` once per build (reloaded when the file changes). */
export class SchemaCatalogue {
  private _cache: { mtimeMs: number; schemas: Record<string, unknown> } | null = null;

  constructor(private readonly _file: string) {}

  async all(): Promise<Record<string, unknown>> {
    const st = await stat(this._file).catch(() => null);
    if (!st) throw Errors.WEB_NOT_BUILT();
    if (!this._cache || this._cache.mtimeMs !== st.mtimeMs) {
      this._cache = { mtimeMs: st.mtimeMs, schemas: JSON.parse(await readFile(this._file, 'utf8')) as Record<string, unknown> };
    }
    return this._cache.schemas;
  }
}

export class LabSettings {
  constructor(
    private readonly _schemas: SchemaCatalogue,
    private readonly _store: LabStateStore,
    private readonly _version: () => Promise<string>
  ) {}

  async list(userId: string): Promise<PluginSettings[]> {
    const [schemas, stored, version] = await Promise.all([this._schemas.all(), this._store.settings(userId), this._version()]);
    return Object.keys(schemas)
      .sort()
      .map(id => toWire(id, schemas[id], stored.get(id), version));
  }

  async ids(): Promise<string[]> {
    return Object.keys(await this._schemas.all()).sort();
  }

  /** @throws LAB_PLUGIN_NOT_FOUND */
  async get(userId: string, pluginId: string): Promise<PluginSettings> {
    const schemas = await this._schemas.all();
    if (!(pluginId in schemas)) throw Errors.LAB_PLUGIN_NOT_FOUND(pluginId);
    return toWire(pluginId, schemas[pluginId], await this._store.setting(userId, pluginId), await this._version());
  }

  /** @throws LAB_PLUGIN_NOT_FOUND, VALIDATION (not a JSON object, too large) */
  async save(userId: string, pluginId: string, body: unknown): Promise<void> {
    const schemas = await this._schemas.all();
    if (!(pluginId in schemas)) throw Errors.LAB_PLUGIN_NOT_FOUND(pluginId);
    const raw = (body as { raw?: unknown } | null)?.raw;
    if (typeof raw !== 'string') throw Errors.VALIDATION('send {"raw": "<settings as JSON text>"}');
    if (Buffer.byteLength(raw) > SETTINGS_MAX_BYTES) throw Errors.VALIDATION(`settings of "${pluginId}" are ${Buffer.byteLength(raw)} bytes; at most ${SETTINGS_MAX_BYTES} are allowed`);
    let parsed: unknown;
    try {
      parsed = parseJsonc(raw);
    } catch (err) {
      throw Errors.VALIDATION(`settings of "${pluginId}" are not valid JSON: ${(err as Error).message}`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw Errors.VALIDATION(`settings of "${pluginId}" must be a JSON object`);
    await this._store.saveSetting(userId, pluginId, raw);
  }
}

function toWire(id: string, schema: unknown, stored: { raw: string; createdAt: number; updatedAt: number } | undefined, version: string): PluginSettings {
  const raw = stored?.raw ?? '{}';
  let settings: Record<string, unknown> = {};
  try {
    const v = parseJsonc(raw);
    if (v && typeof v === 'object' && !Array.isArray(v)) settings = v as Record<string, unknown>;
  } catch {
    // Stored before a schema change made it unreadable: the lab falls back to defaults.
  }
  return {
    id, raw, schema, settings, version,
    last_modified: stored ? new Date(stored.updatedAt).toISOString() : null,
    created: stored ? new Date(stored.createdAt).toISOString() : null
  };
}
