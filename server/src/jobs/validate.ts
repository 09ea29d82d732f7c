/**
 * Boundary checks for job requests (STYLE.md §21): every field is checked here with a
 * message that names it and says what is allowed; typed values go inside.
 */
import { Errors } from '../errors';
import { validateDescription } from '../instances/validate';
import { JOB_EVENTS, type JobEvent, type JobParameter, type VersionConfig } from './job';
import { formatDirUrl, parseDirUrl, resolveBootFile } from './object-url';

/** Decision: ModelArts' job-name rule, 1–64 characters, letters, digits, `_`, `-`, starting with a letter. */
export const JOB_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
export const JOB_NAME_RULE = 'use 1–64 characters: letters, digits, "_" and "-", starting with a letter';
export const PARAMETER_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
export const MAX_PARAMETERS = 50;
export const MAX_PARAMETER_VALUE = 1024;

/** The fields of a version a request may set (create) or change (modify and rerun). */
export type ConfigFields = Partial<Omit<VersionConfig, 'source'>>;

export interface WebhookRequest {
  url: string;
  events: JobEvent[];
  secret: string | null;
}

export interface CreateJobRequest {
  name: string;
  description: string;
  fields: ConfigFields;
  /** Create from a notebook: convert it and stage its directory as the code dir. */
  notebook: { instanceId: string; path: string } | null;
  webhook: WebhookRequest | null;
}

export interface RerunRequest {
  /** The version whose configuration is copied; the latest when absent. */
  fromVersion: number | null;
  fields: ConfigFields;
}

export interface UpdateJobRequest {
  description?: string;
  /** null removes the webhook. */
  webhook?: WebhookRequest | null;
}

const CONFIG_KEYS = ['image', 'flavor', 'nodeCount', 'codeUrl', 'bootFile', 'parameters', 'dataUrl', 'outputUrl', 'logUrl'] as const;

function obj(body: unknown, what = 'request body'): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw Errors.VALIDATION(`${what} must be a JSON object`);
  return body as Record<string, unknown>;
}

function rejectUnknown(o: Record<string, unknown>, known: readonly string[], where = ''): void {
  const unknown = Object.keys(o).filter(k => !known.includes(k));
  if (unknown.length) throw Errors.VALIDATION(`unknown field(s) ${unknown.map(k => `"${where}${k}"`).join(', ')}; allowed: ${known.join(', ')}`);
}

export function validateJobName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) throw Errors.JOB_NAME_INVALID(String(name ?? ''), `"name" is required; ${JOB_NAME_RULE}`);
  if (!JOB_NAME_PATTERN.test(name)) throw Errors.JOB_NAME_INVALID(name, JOB_NAME_RULE);
  return name;
}

/**
 * Run parameters as `[{name, value}]` (ordered) or `{name: value}`; values may be strings,
 * numbers or booleans and are passed as `--name=value`.
 */
export function validateParameters(raw: unknown): JobParameter[] {
  if (raw === undefined || raw === null) return [];
  const pairs: [unknown, unknown][] = Array.isArray(raw)
    ? raw.map((p, i) => {
        const o = obj(p, `"parameters[${i}]"`);
        rejectUnknown(o, ['name', 'value'], `parameters[${i}].`);
        return [o.name, o.value];
      })
    : Object.entries(obj(raw, '"parameters"'));
  if (pairs.length > MAX_PARAMETERS) throw Errors.VALIDATION(`"parameters" has ${pairs.length} entries; at most ${MAX_PARAMETERS} are allowed`);
  const seen = new Set<string>();
  return pairs.map(([name, value]) => {
    if (typeof name !== 'string' || !PARAMETER_NAME_PATTERN.test(name)) {
      throw Errors.VALIDATION(`parameter name ${JSON.stringify(name)} is invalid: use letters, digits, "_", "." and "-" (1–64, not starting with a digit, "." or "-")`);
    }
    if (seen.has(name)) throw Errors.VALIDATION(`parameter "${name}" is given twice`);
    seen.add(name);
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw Errors.VALIDATION(`parameter "${name}" must have a string, number or boolean value`);
    }
    const v = String(value);
    if (v.length > MAX_PARAMETER_VALUE) throw Errors.VALIDATION(`parameter "${name}" is ${v.length} characters long; at most ${MAX_PARAMETER_VALUE} are allowed`);
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(v)) throw Errors.VALIDATION(`parameter "${name}" must not contain control characters (newlines, tabs)`);
    return { name, value: v };
  });
}

function optionalDir(raw: unknown, field: string): string | null {
  return raw === undefined || raw === null || raw === '' ? null : formatDirUrl(parseDirUrl(raw, field));
}

/**
 * The configuration fields present in a request body (absent fields stay absent).
 * @param maxNodes - the largest node count allowed (setting `jobMaxNodes`).
 */
export function parseConfigFields(o: Record<string, unknown>, maxNodes: number): ConfigFields {
  const out: ConfigFields = {};
  if (o.image !== undefined) {
    if (typeof o.image !== 'string' || !o.image) throw Errors.VALIDATION('"image" must be an image name from GET /api/v1/images');
    out.image = o.image;
  }
  if (o.flavor !== undefined) {
    if (typeof o.flavor !== 'string' || !o.flavor) throw Errors.VALIDATION('"flavor" must be a flavor id from GET /api/v1/flavors');
    out.flavor = o.flavor;
  }
  if (o.nodeCount !== undefined) {
    const n = o.nodeCount;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > maxNodes) {
      throw Errors.VALIDATION(`"nodeCount" must be an integer from 1 (standalone) to ${maxNodes} (distributed), got ${JSON.stringify(n)}`);
    }
    out.nodeCount = n;
  }
  if (o.codeUrl !== undefined) out.codeUrl = formatDirUrl(parseDirUrl(o.codeUrl, 'codeUrl'));
  if (o.bootFile !== undefined) {
    // A full location is checked against the code directory once both are known (see completeConfig).
    if (typeof o.bootFile !== 'string' || !o.bootFile.trim()) throw Errors.VALIDATION('"bootFile" must be the script to run, relative to the code directory (e.g. "train.py")');
    out.bootFile = o.bootFile.trim();
  }
  if (o.parameters !== undefined) out.parameters = validateParameters(o.parameters);
  if (o.dataUrl !== undefined) out.dataUrl = optionalDir(o.dataUrl, 'dataUrl');
  if (o.outputUrl !== undefined) out.outputUrl = formatDirUrl(parseDirUrl(o.outputUrl, 'outputUrl'));
  if (o.logUrl !== undefined) out.logUrl = optionalDir(o.logUrl, 'logUrl');
  return out;
}

/** A boot file the runtime knows how to start. */
export function checkBootFileKind(bootFile: string): void {
  if (!/\.(py|sh)$/.test(bootFile)) {
    throw Errors.VALIDATION(`"bootFile" must be a Python (.py) or shell (.sh) script, got "${bootFile}"`);
  }
}

/**
 * Completes the fields of a version and checks what needs several of them together.
 * @returns the boot file relative to the code directory.
 */
export function finishBootFile(codeUrl: string, bootFile: string): string {
  const rel = resolveBootFile(bootFile, parseDirUrl(codeUrl, 'codeUrl'));
  checkBootFileKind(rel);
  return rel;
}

export function validateWebhook(raw: unknown): WebhookRequest | null {
  if (raw === undefined || raw === null) return null;
  const o = obj(raw, '"webhook"');
  rejectUnknown(o, ['url', 'events', 'secret'], 'webhook.');
  let url: URL;
  try {
    url = new URL(String(o.url));
  } catch {
    throw Errors.VALIDATION('"webhook.url" must be an absolute http:// or https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw Errors.VALIDATION('"webhook.url" must use http or https');
  if (url.username || url.password) throw Errors.VALIDATION('"webhook.url" must not carry credentials; use "webhook.secret" to sign deliveries');
  let events: JobEvent[] = [...JOB_EVENTS];
  if (o.events !== undefined) {
    if (!Array.isArray(o.events) || o.events.length === 0 || !o.events.every(e => JOB_EVENTS.includes(e as JobEvent))) {
      throw Errors.VALIDATION(`"webhook.events" must be a non-empty list of ${JOB_EVENTS.join(', ')}`);
    }
    events = [...new Set(o.events as JobEvent[])];
  }
  let secret: string | null = null;
  if (o.secret !== undefined && o.secret !== null) {
    if (typeof o.secret !== 'string' || o.secret.length < 8 || o.secret.length > 256) throw Errors.VALIDATION('"webhook.secret" must be a string of 8–256 characters');
    secret = o.secret;
  }
  return { url: url.toString(), events, secret };
}

export function validateCreateJob(body: unknown, maxNodes: number): CreateJobRequest {
  const o = obj(body);
  rejectUnknown(o, ['name', 'description', ...CONFIG_KEYS, 'notebook', 'webhook']);
  const name = validateJobName(o.name);
  const description = validateDescription(o.description);
  const fields = parseConfigFields(o, maxNodes);
  let notebook: CreateJobRequest['notebook'] = null;
  if (o.notebook !== undefined && o.notebook !== null) {
    const nb = obj(o.notebook, '"notebook"');
    rejectUnknown(nb, ['instanceId', 'path'], 'notebook.');
    if (typeof nb.instanceId !== 'string' || !nb.instanceId) throw Errors.VALIDATION('"notebook.instanceId" must be the id of your running notebook instance');
    if (typeof nb.path !== 'string' || !nb.path.endsWith('.ipynb')) throw Errors.VALIDATION('"notebook.path" must be the notebook (.ipynb) to submit, relative to ~/work');
    notebook = { instanceId: nb.instanceId, path: nb.path.replace(/^\/+/, '') };
    if (fields.codeUrl !== undefined || fields.bootFile !== undefined) {
      throw Errors.VALIDATION('give either "notebook" (its directory becomes the code directory and the converted .py the boot file) or "codeUrl" + "bootFile", not both');
    }
  } else {
    if (fields.codeUrl === undefined) throw Errors.VALIDATION('"codeUrl" is required (the code directory in object storage), or "notebook" to submit a notebook');
    if (fields.bootFile === undefined) throw Errors.VALIDATION('"bootFile" is required: the script to run, relative to the code directory (e.g. "train.py")');
    fields.bootFile = finishBootFile(fields.codeUrl, fields.bootFile);
  }
  if (fields.outputUrl === undefined) throw Errors.VALIDATION('"outputUrl" is required: where outputs go (each version writes to <outputUrl>/V000n/)');
  return { name, description, fields, notebook, webhook: validateWebhook(o.webhook) };
}

export function validateRerun(body: unknown, maxNodes: number): RerunRequest {
  const o = obj(body ?? {});
  rejectUnknown(o, ['fromVersion', ...CONFIG_KEYS]);
  let fromVersion: number | null = null;
  if (o.fromVersion !== undefined) {
    const m = typeof o.fromVersion === 'number' ? o.fromVersion : typeof o.fromVersion === 'string' ? Number(/^[Vv]?(\d+)$/.exec(o.fromVersion)?.[1]) : NaN;
    if (!Number.isInteger(m) || m < 1) throw Errors.VALIDATION('"fromVersion" must be a version such as "V0001" or 1');
    fromVersion = m;
  }
  return { fromVersion, fields: parseConfigFields(o, maxNodes) };
}

export function validateUpdateJob(body: unknown): UpdateJobRequest {
  const o = obj(body);
  rejectUnknown(o, ['description', 'webhook']);
  const out: UpdateJobRequest = {};
  if (o.description !== undefined) out.description = validateDescription(o.description);
  if (o.webhook !== undefined) out.webhook = validateWebhook(o.webhook);
  if (Object.keys(out).length === 0) throw Errors.VALIDATION('nothing to update: send "description" and/or "webhook" (null removes it)');
  return out;
}
