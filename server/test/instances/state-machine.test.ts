import { describe, expect, it } from 'vitest';
import { allowedOperations, isAllowed } from '../../src/instances/state-machine';
import { INSTANCE_STATUSES } from '../../src/instances/instance';

describe('state machine (SPEC §1)', () => {
  it('should allow open, stop and save as image only when RUNNING', () => {
    for (const s of INSTANCE_STATUSES) {
      expect(isAllowed('open', s)).toBe(s === 'RUNNING');
      expect(isAllowed('stop', s)).toBe(s === 'RUNNING');
      expect(isAllowed('saveImage', s)).toBe(s === 'RUNNING');
    }
  });

  it('should allow start and delete from STOPPED and ERROR only', () => {
    for (const s of INSTANCE_STATUSES) {
      const expected = s === 'STOPPED' || s === 'ERROR';
      expect(isAllowed('start', s)).toBe(expected);
      expect(isAllowed('delete', s)).toBe(expected);
    }
  });

  it('should allow a flavor change only when STOPPED, description any time but DELETING', () => {
    for (const s of INSTANCE_STATUSES) {
      expect(isAllowed('updateFlavor', s)).toBe(s === 'STOPPED');
      expect(isAllowed('update', s)).toBe(s !== 'DELETING');
    }
  });

  it('should list the allowed operations of a state', () => {
    expect(allowedOperations('STOPPED').sort()).toEqual(['delete', 'start', 'update', 'updateFlavor']);
  });
});
