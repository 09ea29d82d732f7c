/**
 * Wire shapes of APIs the console uses that `server/src/api/types.ts` does not declare (yet):
 * kept loose where those APIs are still being built, and narrowed as they land. Fields the
 * console does not need are not listed.
 */

export interface Me {
  id: string;
  name: string;
  role: 'admin' | 'user';
}

export interface ProgressEvent {
  progress?: number;
  message: string;
  at?: string;
}

export interface Progress {
  status: string;
  events: ProgressEvent[];
}

/** `GET /api/v1/custom-images` (save as image, SPEC §5). */
export interface CustomImage {
  id: string;
  name: string;
  tag: string;
  owner: { id: string; name: string };
  baseImage: string;
  sourceInstanceId: string | null;
  sizeBytes: number | null;
  description: string;
  createdAt: string;
  status?: string;
}

/** Save-as-image progress streamed as server-sent events. */
export interface SaveProgress {
  step?: string;
  message?: string;
  progress?: number;
}

/** A training job (SPEC §8): a named series of versions. */
export interface Job {
  id: string;
  name: string;
  description?: string;
  owner?: { id: string; name: string };
  status?: string;
  latestVersion?: JobVersion | null;
  versions?: JobVersion[];
  createdAt?: string;
}

export interface JobVersion {
  id?: string;
  version: string;
  status: string;
  statusReason?: string | null;
  image?: string;
  flavor?: string;
  nodeCount?: number;
  bootFile?: string;
  createdAt?: string;
  startedAt?: string | null;
  finishedAt?: string | null;
}

export interface CreateJobRequest {
  name: string;
  description?: string;
  image: string;
  flavor: string;
  nodeCount: number;
  bootFile: string;
  parameters?: { name: string; value: string }[];
  dataUrl?: string;
  outputUrl?: string;
  source?: { kind: 'notebook'; instanceId: string; notebook: string };
}

export interface SshKey {
  id: string;
  name: string;
  type?: string;
  fingerprint: string;
  createdAt: string;
  lastUsedAt?: string | null;
}
