/**
 * `~/.ssh/config` entries for `nbg ssh-config`: rendering, merging into an existing file,
 * known_hosts lines, and the command end to end against a stand-in gateway.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BEGIN_MARKER, END_MARKER, hostAlias, knownHostsLine, mergeSshConfig, renderSshConfig } from '../../src/ssh/ssh-config';
import { sshConfigCommand, type SshConfigResponse } from '../../src/ssh/ssh-config-command';
import { publicHostPort } from '../../src/ssh/ssh-service';

describe('ssh-config', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('should render one Host entry per instance between markers', () => {
    const text = renderSshConfig({
      host: 'gw.example.com', port: 2222, identityFile: '~/.ssh/nbg key', knownHostsFile: '/home/a/.ssh/nbg_known_hosts',
      entries: [{ alias: 'nbg-demo', user: 'alice+demo' }, { alias: 'nbg-train', user: 'alice+train' }]
    });
    expect(text.startsWith(BEGIN_MARKER)).toBe(true);
    expect(text.trimEnd().endsWith(END_MARKER)).toBe(true);
    expect(text).toContain('Host nbg-demo\n  HostName gw.example.com\n  Port 2222\n  User alice+demo\n  IdentityFile "~/.ssh/nbg key"\n  IdentitiesOnly yes\n');
    expect(text).toContain('UserKnownHostsFile /home/a/.ssh/nbg_known_hosts');
    expect(text.match(/^Host /gm)).toHaveLength(2);
    expect(hostAlias('nbg-', 'my_nb-1')).toBe('nbg-my_nb-1');
  });

  it('should replace its own block and keep the rest of the file', () => {
    const block1 = renderSshConfig({ host: 'h', port: 1, entries: [{ alias: 'nbg-a', user: 'u+a' }] });
    const block2 = renderSshConfig({ host: 'h', port: 1, entries: [{ alias: 'nbg-b', user: 'u+b' }] });
    const mine = 'Host work\n  HostName work.example.com\n';
    const once = mergeSshConfig(mine, block1);
    expect(once).toBe(`${mine}\n${block1}`);
    const twice = mergeSshConfig(`${once}Host after\n  User x\n`, block2);
    expect(twice).toContain('Host work');
    expect(twice).toContain('Host after');
    expect(twice).toContain('Host nbg-b');
    expect(twice).not.toContain('Host nbg-a');
    expect(mergeSshConfig('', block1)).toBe(block1);
  });

  it('should write known_hosts lines as OpenSSH looks them up', () => {
    expect(knownHostsLine('gw', 2222, 'ssh-ed25519 AAAA')).toBe('[gw]:2222 ssh-ed25519 AAAA');
    expect(knownHostsLine('gw', 22, 'ssh-ed25519 AAAA')).toBe('gw ssh-ed25519 AAAA');
  });

  it('should derive the address users connect to', () => {
    expect(publicHostPort('', '', { host: '127.0.0.1', port: 2222 })).toEqual({ host: '127.0.0.1', port: 2222 });
    expect(publicHostPort('', 'https://nb.example.com/', { host: '0.0.0.0', port: 2222 })).toEqual({ host: 'nb.example.com', port: 2222 });
    expect(publicHostPort('ssh.example.com:22', 'https://nb.example.com', { host: '0.0.0.0', port: 2222 })).toEqual({ host: 'ssh.example.com', port: 22 });
    expect(publicHostPort('[2001:db8::1]:2200', '', { host: '::', port: 2222 })).toEqual({ host: '2001:db8::1', port: 2200 });
  });

  it('should write ~/.ssh/config and nbg_known_hosts (0600) from the gateway\'s answer, idempotently', async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbg-sshcfg-'));
    const sshDir = join(dir, '.ssh');
    const answer: SshConfigResponse = {
      host: 'gw.example.com', port: 2222, hostKey: { publicKey: 'ssh-ed25519 AAAAHOST', fingerprint: 'SHA256:x' },
      entries: [{ alias: 'nbg-demo', user: 'alice+demo', instanceId: 'abc', instanceName: 'demo', status: 'RUNNING' }],
      knownHosts: '[gw.example.com]:2222 ssh-ed25519 AAAAHOST', config: ''
    };
    const asked: string[] = [];
    const get = async (path: string): Promise<SshConfigResponse> => {
      asked.push(path);
      return answer;
    };
    await writeFile(join(dir, 'placeholder'), '');
    const r1 = await sshConfigCommand({ get, sshDir, identityFile: '~/.ssh/id_nbg' });
    const r2 = await sshConfigCommand({ get, sshDir, identityFile: '~/.ssh/id_nbg' });
    expect(asked[0]).toBe('/api/v1/ssh/config?prefix=nbg-');
    expect(r2).toEqual(r1);
    expect(r1.hosts).toEqual(['nbg-demo']);
    const config = await readFile(r1.configFile, 'utf8');
    expect(config.match(/^Host nbg-demo$/gm)).toHaveLength(1);
    expect(config).toContain(`UserKnownHostsFile ${r1.knownHostsFile}`);
    expect(await readFile(r1.knownHostsFile, 'utf8')).toBe('[gw.example.com]:2222 ssh-ed25519 AAAAHOST\n');
    expect((await stat(r1.configFile)).mode & 0o777).toBe(0o600);
  });
});
