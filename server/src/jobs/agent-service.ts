/**
 * The gateway's side of the job-agent API (see `agent-protocol.ts`): what a version's
 * launchers may read and write, checked against the version their token belongs to.
 *
 * #### Notes
 * - Object-storage access goes through the gateway, so no storage credential ever reaches a
 *   job's node or container, and a token reaches only its own version's code, data and
 *   output locations (SPEC §9).
 * - The token is valid while the version is DEPLOYING or RUNNING: launchers of a canceled,
 *   ended or deleted version are refused (401) and stop.
 */
import type { Readable } from 'node:stream';
import { Errors } from '../errors';
import type { Logger } from '../logger';
import { listAll, type IObjectStore, type ObjectInfo } from '../storage/object-store';
import type { AgentRuntime, AgentSpec, InputKind, Manifest, Rendezvous, TaskEvent } from './launcher/protocol';
import { ACTIVE_STATUSES, versionLabel, type JobRecord, type VersionRecord } from './job';
import type { JobStore } from './job-store';
import { checkKeyPath, lastDirName, locationOf, type ObjectLocation } from './object-url';

/** Most files a code or data manifest lists. */
export const MAX_MANIFEST_FILES = 100_000;

export interface JobAgentServiceOptions {
  store: JobStore;
  objects: IObjectStore;
  /** How the version's tasks run (host processes or containers of its image). */
  runtime: (v: VersionRecord, job: JobRecord) => Promise<AgentRuntime>;
  /** Called when a task reports, so the tracker looks at the version at once. */
  onEvent: (versionId: string) => void;
  log: Logger;
}

export class JobAgentService {
  constructor(private readonly _o: JobAgentServiceOptions) {}

  /**
   * The version a launcher's `Authorization: Bearer <token>` belongs to.
   * @throws JOB_TOKEN_INVALID when unknown, or when the version is no longer active.
   */
  async authenticate(header: string | undefined): Promise<VersionRecord> {
    const token = header ? /^bearer\s+(\S+)$/i.exec(header.trim())?.[1] : undefined;
    if (!token) throw Errors.JOB_TOKEN_INVALID('send "Authorization: Bearer <job token>"');
    const v = await this._o.store.versionByToken(token);
    if (!v) throw Errors.JOB_TOKEN_INVALID('the token is unknown or its job was deleted');
    if (!ACTIVE_STATUSES.includes(v.status)) throw Errors.JOB_TOKEN_INVALID(`version ${versionLabel(v.version)} is ${v.status}`);
    return v;
  }

  async spec(v: VersionRecord): Promise<AgentSpec> {
    const job = await this._o.store.getJob(v.jobId);
    if (!job) throw Errors.JOB_TOKEN_INVALID('the job was deleted');
    const c = v.config;
    const env: Record<string, string> = {
      DLS_APP_URL: c.codeUrl,
      DLS_TRAIN_URL: outputUrlOf(v),
      DLS_TASK_NUMBER: String(c.nodeCount)
    };
    if (c.dataUrl) env.DLS_DATA_URL = c.dataUrl;
    return {
      jobId: job.id,
      jobName: job.name,
      version: versionLabel(v.version),
      tasks: c.nodeCount,
      codeDir: lastDirName(locationOf(c.codeUrl)),
      bootFile: c.bootFile,
      parameters: c.parameters,
      hasData: c.dataUrl !== null,
      env,
      runtime: await this._o.runtime(v, job)
    };
  }

  /** Every file of the code directory or the data, relative to it. */
  async manifest(v: VersionRecord, kind: InputKind): Promise<Manifest> {
    const loc = inputOf(v, kind);
    const files: Manifest['files'] = [];
    for await (const o of listAll(this._o.objects, loc.bucket, loc.prefix)) {
      // Keys ending in "/" are folder markers some clients create.
      if (o.key.endsWith('/')) continue;
      if (files.length >= MAX_MANIFEST_FILES) throw Errors.VALIDATION(`the ${kind} directory has more than ${MAX_MANIFEST_FILES} files`);
      files.push({ path: o.key.slice(loc.prefix.length), size: o.size });
    }
    return { files };
  }

  /** A stream of one input file. @throws VALIDATION for a path that is not clean */
  async openInput(v: VersionRecord, kind: InputKind, path: unknown): Promise<{ stream: Readable; info: ObjectInfo }> {
    const loc = inputOf(v, kind);
    const key = `${loc.prefix}${checkKeyPath(String(path ?? ''), 'path')}`;
    const info = await this._o.objects.head(loc.bucket, key);
    return { stream: await this._o.objects.get(loc.bucket, key), info };
  }

  /** Stores one output file under `<output URL>/V000n/`. */
  async putOutput(v: VersionRecord, path: unknown, body: Readable, size?: number): Promise<ObjectInfo> {
    const dest = locationOf(outputUrlOf(v));
    const key = `${dest.prefix}${checkKeyPath(String(path ?? ''), 'path')}`;
    return this._o.objects.put(dest.bucket, key, body, size === undefined ? {} : { size });
  }

  /** Records a task's report. @throws VALIDATION for a malformed one */
  async event(v: VersionRecord, body: unknown): Promise<void> {
    const e = checkEvent(body, v.config.nodeCount);
    if (e.event === 'started') {
      await this._o.store.reportTask(v.id, { task: e.task, state: 'started', host: e.host, port: e.port, exitCode: null, message: null });
    } else if (e.event === 'finished') {
      await this._o.store.reportTask(v.id, { task: e.task, state: 'finished', host: null, port: null, exitCode: e.exitCode, message: e.message ?? null });
    } else {
      await this._o.store.reportTask(v.id, { task: e.task, state: 'error', host: null, port: null, exitCode: null, message: e.message.slice(0, 2_000) });
    }
    this._o.onEvent(v.id);
  }

  /**
   * Every task's `host:port` once all have started, waiting up to `waitMs` for the rest.
   * @returns `{ hosts: null }` when some have not started by then.
   */
  async rendezvous(v: VersionRecord, waitMs: number): Promise<Rendezvous> {
    const deadline = Date.now() + Math.min(Math.max(0, waitMs), 30_000);
    for (;;) {
      const tasks = (await this._o.store.tasks(v.id)).filter(t => t.host && t.port);
      if (tasks.length === v.config.nodeCount) return { hosts: tasks.sort((a, b) => a.task - b.task).map(t => `${t.host}:${t.port}`) };
      if (Date.now() >= deadline) return { hosts: null };
      await new Promise(r => setTimeout(r, 100));
    }
  }
}

/** Where version `v` writes its outputs: `<output URL>/V000n/`. */
export function outputUrlOf(v: Pick<VersionRecord, 'config' | 'version'>): string {
  return `${v.config.outputUrl}${versionLabel(v.version)}/`;
}

function inputOf(v: VersionRecord, kind: InputKind): ObjectLocation {
  if (kind === 'code') return locationOf(v.config.codeUrl);
  if (!v.config.dataUrl) throw Errors.VALIDATION('this version has no data URL');
  return locationOf(v.config.dataUrl);
}

function checkEvent(body: unknown, tasks: number): TaskEvent {
  const o = (body ?? {}) as Record<string, unknown>;
  const task = o.task;
  if (typeof task !== 'number' || !Number.isInteger(task) || task < 0 || task >= tasks) throw Errors.VALIDATION(`"task" must be an index from 0 to ${tasks - 1}`);
  switch (o.event) {
    case 'started':
      if (typeof o.host !== 'string' || !/^[A-Za-z0-9.:_-]{1,253}$/.test(o.host)) throw Errors.VALIDATION('"host" must be a host name or address');
      if (typeof o.port !== 'number' || !Number.isInteger(o.port) || o.port < 1 || o.port > 65535) throw Errors.VALIDATION('"port" must be a TCP port');
      return { task, event: 'started', host: o.host, port: o.port };
    case 'finished':
      if (typeof o.exitCode !== 'number' || !Number.isInteger(o.exitCode)) throw Errors.VALIDATION('"exitCode" must be an integer');
      return { task, event: 'finished', exitCode: o.exitCode, ...(typeof o.message === 'string' ? { message: o.message } : {}) };
    case 'error':
      if (typeof o.message !== 'string') throw Errors.VALIDATION('"message" must be a string');
      return { task, event: 'error', message: o.message };
    default:
      throw Errors.VALIDATION('"event" must be started, finished or error');
  }
}
