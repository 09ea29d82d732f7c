import { describe, expect, it } from 'vitest';
import { jobRequest } from '../../extensions/training-job-extension/src/request';
import { parseParameters } from '../../extensions/training-job-extension/src/request';
import { planText, progressText } from '../../extensions/sync-extension/src/limits';
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

  it('should show a Sync OBS plan against the limits', () => {
    expect(planText(1, null)).toBe(
      'Copy 1 selected item from object storage into ~/work. Limits: at most 1024 files per sync; ~/work at most 500 MB afterwards. Nothing is copied when a limit would be passed.'
    );
    const mib = 1024 * 1024;
    expect(planText(2, { transfers: 3, transferBytes: 20 * mib, unchanged: 1, workBytes: 200 * mib, afterBytes: 220 * mib })).toBe(
      'Copy 3 files (20 MB) of 2 selected items into ~/work, 1 unchanged skipped. ~/work: 200 MB now, 220 MB after. Limits: at most 1024 files per sync; ~/work at most 500 MB afterwards. Nothing is copied when a limit would be passed.'
    );
    expect(progressText({ id: 's', kind: 'obs', state: 'succeeded', progress: { filesDone: 3, bytesDone: 20 * mib } })).toBe('Synced 3 files (20 MB)');
    expect(progressText({ id: 's', kind: 'obs', state: 'failed', error: 'storage unavailable' })).toBe('Sync failed: storage unavailable');
  });

  it('should read the lease end and count down to it', () => {
    const inst = { autoStop: { timingHours: 2, expiresAt: '2026-11-22T12:00:00Z', idleMinutes: null, lastActivityAt: null, idleStopAt: null } } as IGatewayInstance;
    expect(leaseExpiry(inst)).toBe(Date.parse('2026-11-22T12:00:00Z'));
    expect(leaseExpiry({ ...inst, autoStop: undefined })).toBeNull();
  });
});
