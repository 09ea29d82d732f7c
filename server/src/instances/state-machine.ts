/**
 * Which operation is allowed in which state (SPEC §1 "States and allowed operations").
 * Pure, so the console, the API and the manager share one table.
 */
import type { InstanceStatus } from './instance';

export type Operation = 'open' | 'stop' | 'start' | 'delete' | 'updateFlavor' | 'update' | 'saveImage';

const ALLOWED: Record<Operation, readonly InstanceStatus[]> = {
  open: ['RUNNING'],
  stop: ['RUNNING'],
  start: ['STOPPED', 'ERROR'],
  delete: ['STOPPED', 'ERROR'],
  updateFlavor: ['STOPPED'],
  update: ['CREATING', 'STARTING', 'RUNNING', 'STOPPING', 'STOPPED', 'SNAPSHOTTING', 'ERROR'],
  saveImage: ['RUNNING']
};

/** What the user is told to do when an operation is refused. */
const ADVICE: Record<Operation, string> = {
  open: 'start it first; it can be opened when RUNNING',
  stop: 'stop is allowed only when RUNNING',
  start: 'start is allowed when STOPPED or ERROR',
  delete: 'stop it first; delete is allowed when STOPPED or ERROR',
  updateFlavor: 'stop it first; the flavor can be changed only when STOPPED',
  update: 'it is being deleted',
  saveImage: 'save as image is allowed only when RUNNING'
};

export const OPERATIONS = Object.keys(ALLOWED) as Operation[];

export function isAllowed(op: Operation, status: InstanceStatus): boolean {
  return ALLOWED[op].includes(status);
}

export function allowedOperations(status: InstanceStatus): Operation[] {
  return OPERATIONS.filter(op => isAllowed(op, status));
}

export function allowedFrom(op: Operation): readonly InstanceStatus[] {
  return ALLOWED[op];
}

export function advice(op: Operation): string {
  return ADVICE[op];
}

/** States in which a background operation is in flight. */
export const TRANSITIONAL: readonly InstanceStatus[] = ['CREATING', 'STARTING', 'STOPPING', 'SNAPSHOTTING', 'DELETING'];
