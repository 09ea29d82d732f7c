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

export type { TrainingJob as Job, TrainingJobVersion as JobVersion } from '../../../../server/src/jobs/wire';
export type { SshKeyInfo as SshKey, InstanceSshInfo } from '../../../../server/src/api/ssh.routes';
export type { LeaseInfo } from '../../../../server/src/api/types';

/** `POST /api/v1/jobs` from the console: a code location and boot file. */
export interface CreateJobRequest {
  name: string;
  description?: string;
  image?: string;
  flavor?: string;
  nodeCount?: number;
  codeUrl: string;
  bootFile: string;
  parameters?: { name: string; value: string }[];
  dataUrl?: string;
  outputUrl: string;
}

/** `POST /api/v1/ssh/keys` answer: a generated pair carries its private key, once. */
export interface CreatedSshKey {
  id: string;
  name: string;
  fingerprint: string;
  privateKey?: string;
}
