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

export type { CustomImage } from '../../../../server/src/api/images.routes';
export type { SaveProgress } from '../../../../server/src/images/save-image';
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
