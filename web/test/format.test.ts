import { describe, expect, it } from 'vitest';
import { bytes, countdown, isTransitional, relative, toneOf } from '../src/console/logic/format';
import { matchRoute, safeNext } from '../src/console/router';
import { hostAlias, sshCommand, sshConfigBlock } from '../src/console/logic/ssh-config';
import { flavorsForImage } from '../src/console/logic/catalogue';
import { leaseOf, labUrl, can } from '../src/console/logic/instance-view';
import type { FlavorInfo, NotebookInstance } from '../../server/src/api/types';

describe('console logic', () => {
  it('should count down leases in the largest useful units', () => {
    expect(countdown(0)).toBe('expired');
    expect(countdown(12_400)).toBe('12s');
    expect(countdown(4 * 60_000 + 9_000)).toBe('4m 09s');
    expect(countdown(2 * 3_600_000 + 5 * 60_000)).toBe('2h 05m');
    expect(countdown(26 * 3_600_000)).toBe('1d 02h');
  });

  it('should format sizes and relative times', () => {
    expect(bytes(null)).toBe('—');
    expect(bytes(999)).toBe('999 B');
    expect(bytes(1_500_000)).toBe('1.5 MB');
    expect(bytes(9_500_000_000)).toBe('9.5 GB');
    const now = Date.parse('2026-11-22T12:00:00Z');
    expect(relative('2026-11-22T11:57:00Z', now)).toBe('3 min ago');
    expect(relative('2026-11-22T14:00:00Z', now)).toBe('in 2 h');
    expect(relative(null, now)).toBe('—');
  });

  it('should give states a tone and know which change by themselves', () => {
    expect(['RUNNING', 'SUCCEEDED'].map(toneOf)).toEqual(['ok', 'ok']);
    expect(['ERROR', 'FAILED'].map(toneOf)).toEqual(['bad', 'bad']);
    expect(toneOf('STARTING')).toBe('busy');
    expect(isTransitional('STARTING')).toBe(true);
    expect(isTransitional('RUNNING')).toBe(false);
  });

  it('should route hashes with parameters and queries, and never follow an off-site next', () => {
    const routes = [{ pattern: '/notebooks/new', value: 'create' }, { pattern: '/notebooks/:id', value: 'detail' }, { pattern: '/', value: 'home' }];
    expect(matchRoute(routes, '#/notebooks/new')?.value).toBe('create');
    const m = matchRoute(routes, '#/notebooks/ab%20c?version=V0002');
    expect(m?.params).toEqual({ id: 'ab c' });
    expect(m?.query.get('version')).toBe('V0002');
    expect(matchRoute(routes, '')?.value).toBe('home');
    expect(matchRoute(routes, '#/nope/x/y')).toBeNull();
    expect(safeNext('/notebooks/abc/lab')).toBe('/notebooks/abc/lab');
    for (const bad of ['//evil.example/x', 'https://evil.example', '/\\evil.example', null]) expect(safeNext(bad)).toBeNull();
  });

  it('should write an ssh_config block that VS Code and OpenSSH read', () => {
    const ep = { host: 'nb.example.com', port: 2222, user: 'alice+nb1' };
    expect(hostAlias('my nb')).toBe('nbg-my-nb');
    expect(sshConfigBlock('nb1', ep)).toBe(
      'Host nbg-nb1\n  HostName nb.example.com\n  Port 2222\n  User alice+nb1\n  IdentityFile ~/.ssh/id_ed25519\n  IdentitiesOnly yes\n  ServerAliveInterval 30\n'
    );
    expect(sshCommand(ep)).toBe('ssh -i ~/.ssh/id_ed25519 -p 2222 alice+nb1@nb.example.com');
    expect(sshCommand({ ...ep, port: 22 })).toBe('ssh -i ~/.ssh/id_ed25519 alice+nb1@nb.example.com');
  });

  it('should offer only flavors whose chip the image supports, invite-only last', () => {
    const f = (id: string, chip: FlavorInfo['chip'], inviteOnly = false): FlavorInfo => ({ id, chip, cpus: 1, memoryGiB: 1, accelerators: chip === 'cpu' ? 0 : 1, inviteOnly, description: '' }) as FlavorInfo;
    const all = [f('gpu.2x', 'gpu', true), f('cpu.2u8g', 'cpu'), f('gpu.1x', 'gpu'), f('ascend.1x', 'ascend')];
    expect(flavorsForImage(all, { chips: ['cpu'] }).map(x => x.id)).toEqual(['cpu.2u8g']);
    expect(flavorsForImage(all, { chips: ['gpu'] }).map(x => x.id)).toEqual(['gpu.1x', 'gpu.2x']);
  });

  it('should read the lease and the operations of an instance', () => {
    const inst = {
      url: '/notebooks/abc/', allowedOperations: ['open', 'stop'],
      autoStop: { timingHours: 4, expiresAt: '2026-11-22T16:00:00Z', idleMinutes: null, lastActivityAt: null, idleStopAt: null }
    } as unknown as NotebookInstance;
    expect(leaseOf(inst)).toEqual({ expiresAt: Date.parse('2026-11-22T16:00:00Z'), idleMinutes: null, idleStopAt: null });
    expect(leaseOf({ ...inst, autoStop: { timingHours: null, expiresAt: null, idleMinutes: null, lastActivityAt: null, idleStopAt: null } })).toBeNull();
    expect(leaseOf({ ...inst, autoStop: undefined })).toBeNull();
    expect(labUrl(inst)).toBe('/notebooks/abc/lab');
    expect(can(inst, 'stop')).toBe(true);
    expect(can(inst, 'delete')).toBe(false);
  });
});
