import { describe, expect, it } from 'vitest';
import { jobRequest } from '../../extensions/training-job-extension/src/request';
import { parseParameters } from '../../extensions/training-job-extension/src/request';
import { DEFAULT_LIMITS, limitsText } from '../../extensions/sync-extension/src/limits';
import { countdown } from '../../extensions/instance-extension/src/model';
import { leaseExpiry, type IGatewayInstance } from '../../extensions/lab-services/src/gateway';

describe('JupyterLab plug-ins (logic)', () => {
  it('should turn the job form into the gateway\'s create request for a notebook', () => {
    expect(parseParameters('lr=0.1\n--epochs = 3\n\nflag')).toEqual([{ name: 'lr', value: '0.1' }, { name: 'epochs', value: '3' }, { name: 'flag', value: '' }]);
    const body = jobRequest(
      { name: 'train', description: '', image: 'python3.11-cpu-debian12', flavor: 'cpu.2u8g', nodeCount: 1, parameters: [{ name: 'lr', value: '0.1' }], dataUrl: '', outputUrl: 's3://b/out/' },
      'inst1', 'work/train.ipynb'
    );
    expect(body).toEqual({
      name: 'train', image: 'python3.11-cpu-debian12', flavor: 'cpu.2u8g', nodeCount: 1, outputUrl: 's3://b/out/',
      notebook: { instanceId: 'inst1', path: 'work/train.ipynb' }, parameters: [{ name: 'lr', value: '0.1' }]
    });
  });

  it('should show the Sync OBS limits with the room left in ~/work', () => {
    expect(limitsText(['a.csv'], DEFAULT_LIMITS)).toBe(
      'Copy 1 selected item from object storage into ~/work. Limits: at most 1024 files per sync; ~/work at most 500 MB after it. Unchanged files are skipped; nothing is copied when a limit would be passed.'
    );
    expect(limitsText(['a', 'b'], { ...DEFAULT_LIMITS, workBytes: 200 * 1024 * 1024 })).toContain('~/work holds 200 MB now, so at most 300 MB more can come.');
  });

  it('should read the lease end and count down to it', () => {
    const inst = { autoStop: { timingHours: 2, expiresAt: '2026-11-22T12:00:00Z', idleMinutes: null, idleStopAt: null } } as IGatewayInstance;
    expect(leaseExpiry(inst)).toBe(Date.parse('2026-11-22T12:00:00Z'));
    expect(leaseExpiry({ ...inst, autoStop: null })).toBeNull();
    expect(countdown(3_725_000)).toBe('1h 02m');
    expect(countdown(-1)).toBe('now');
  });
});
