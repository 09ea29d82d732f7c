/**
 * Which operation is allowed in which version state (SPEC §8), and which state changes the
 * gateway itself may make. Pure, so the API, the manager and the console share one table.
 */
import type { JobStatus } from './job';

export type JobOperation = 'stop' | 'delete' | 'rerun';

const ALLOWED: Record<JobOperation, readonly JobStatus[]> = {
  // SPEC §8: stop from DEPLOYING or RUNNING → CANCELED.
  stop: ['DEPLOYING', 'RUNNING'],
  // SPEC §8: delete from any state except INITIALIZING.
  delete: ['DEPLOYING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELED'],
  // Decision: a new version may start while others run (ModelArts allows it), but not while
  // the latest is still being set up, so versions are submitted in order.
  rerun: ['DEPLOYING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELED']
};

const ADVICE: Record<JobOperation, string> = {
  stop: 'stop is allowed when DEPLOYING or RUNNING',
  delete: 'wait until it leaves INITIALIZING (a few seconds); delete is allowed in every other state',
  rerun: 'wait until the latest version leaves INITIALIZING, then create the new version'
};

/**
 * State changes the gateway makes on its own; anything else is refused by the store.
 * Terminal states have no way out (STYLE.md §20).
 */
const TRANSITIONS: Record<JobStatus, readonly JobStatus[]> = {
  INITIALIZING: ['DEPLOYING', 'FAILED'],
  DEPLOYING: ['RUNNING', 'FAILED', 'CANCELED'],
  RUNNING: ['SUCCEEDED', 'FAILED', 'CANCELED'],
  SUCCEEDED: [],
  FAILED: [],
  CANCELED: []
};

export const JOB_OPERATIONS = Object.keys(ALLOWED) as JobOperation[];

export function isJobOperationAllowed(op: JobOperation, status: JobStatus): boolean {
  return ALLOWED[op].includes(status);
}

export function jobAllowedFrom(op: JobOperation): readonly JobStatus[] {
  return ALLOWED[op];
}

export function jobAdvice(op: JobOperation): string {
  return ADVICE[op];
}

/** Operations allowed on a version in this state (for the wire model). */
export function allowedJobOperations(status: JobStatus): JobOperation[] {
  return JOB_OPERATIONS.filter(op => isJobOperationAllowed(op, status));
}

/** States a version may move to from `to`'s predecessors: the `from` list of a store transition. */
export function predecessorsOf(to: JobStatus): JobStatus[] {
  return (Object.keys(TRANSITIONS) as JobStatus[]).filter(s => TRANSITIONS[s].includes(to));
}

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return TRANSITIONS[from].includes(to);
}
