/**
 * Limits and isolation on Docker (issue 4): the ~/work volume's size is enforced by the kernel
 * (writing past it fails with "No space left on device" inside the container), and two users'
 * instances cannot reach each other over the network while one user's instances can.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NotebookInstance } from '../../server/src/api/types';
import { startGatewayProcess, waitFor, type GatewayProcess } from '../utils/gateway-process';
import { execFileSync } from 'node:child_process';
import { metadataRule } from '../../server/src/drivers/docker/metadata-block';
import { containerIp, dockerDump, dockerGatewayEnv, dockerUsable, requireImages, runCode, sweep, TEST_PREFIX, TEST_UNIT_MIB } from './docker-helpers';

const usable = await dockerUsable();
const IMAGE = 'python3.11-cpu-debian12';

describe.skipIf(!usable)('Docker runtime: limits and isolation', () => {
  let gw: GatewayProcess;
  let volumesDir: string;

  beforeAll(async () => {
    await requireImages(IMAGE);
    volumesDir = await mkdtemp(join(tmpdir(), 'nbtest-img-vol-'));
    gw = await startGatewayProcess(dockerGatewayEnv(volumesDir));
  });

  afterAll(async () => {
    await gw?.stop();
    await sweep(TEST_PREFIX, volumesDir);
  });

  async function userToken(name: string): Promise<string> {
    const created = await gw.api('/api/v1/users', { method: 'POST', token: gw.adminToken, json: { name, password: `${name}-password-123`, role: 'user' } });
    if (created.status !== 201) throw new Error(`cannot create user ${name}: ${created.status} ${await created.text()}`);
    const login = await gw.api('/api/v1/auth/login', { method: 'POST', json: { username: name, password: `${name}-password-123` } });
    return ((await login.json()) as { token: string }).token;
  }

  async function running(token: string, name: string, extra: Record<string, unknown> = {}): Promise<NotebookInstance> {
    const res = await gw.api('/api/v1/notebooks', { method: 'POST', token, json: { name, image: IMAGE, ...extra } });
    if (res.status !== 201) throw new Error(`create ${name}: ${res.status} ${await res.text()}`);
    const inst = (await res.json()) as NotebookInstance;
    return waitFor(async () => {
      const s = (await (await gw.api(`/api/v1/notebooks/${inst.id}`, { token })).json()) as NotebookInstance;
      if (s.status === 'ERROR') throw new Error(`${name} failed: ${s.statusReason}`);
      return s.status === 'RUNNING' ? s : undefined;
    }, `${name} RUNNING`, 120_000);
  }

  it('should fail a write past the volume size with "No space left on device"', async () => {
    onTestFailed(async () => console.error(await dockerDump()));
    const inst = await running(gw.adminToken, 'full', { storage: { type: 'local', sizeGB: 5 } });
    const limitMiB = 5 * TEST_UNIT_MIB;
    const res = await runCode(gw.url, gw.adminToken, inst.id, [
      'import os, shutil',
      'total = shutil.disk_usage(os.path.expanduser("~/work")).total',
      'written = 0',
      'try:',
      '    with open(os.path.expanduser("~/work/fill.bin"), "wb") as f:',
      `        for _ in range(${limitMiB * 2}):`,
      '            f.write(b"x" * (1 << 20)); f.flush(); os.fsync(f.fileno()); written += 1',
      '    print("no error after", written)',
      'except OSError as e:',
      '    print(e.strerror, written, total >> 20)'
    ].join('\n'));
    expect(res.ok).toBe(true);
    const [message, written, total] = res.out.trim().split(/ (?=\d)/);
    expect(message).toBe('No space left on device');
    expect(Number(total)).toBeLessThanOrEqual(limitMiB);
    expect(Number(written)).toBeGreaterThan(limitMiB * 0.7);
    expect(Number(written)).toBeLessThanOrEqual(limitMiB);
    // The same from a shell: coreutils report the kernel's ENOSPC.
    const shell = await runCode(gw.url, gw.adminToken, inst.id, 'import subprocess\nprint(subprocess.run("dd if=/dev/zero of=$HOME/work/more bs=1M count=50", shell=True, capture_output=True, text=True).stderr)');
    expect(shell.out).toContain('No space left on device');
  }, 180_000);

  it("should keep one user's instances from reaching another user's, but not their own", async () => {
    onTestFailed(async () => console.error(await dockerDump()));
    const alice = await userToken('alice');
    const bob = await userToken('bob');
    const a1 = await running(alice, 'a1');
    const a2 = await running(alice, 'a2');
    const b1 = await running(bob, 'b1');
    const [ipA2, ipB1] = [await containerIp(TEST_PREFIX, a2.id), await containerIp(TEST_PREFIX, b1.id)];
    expect(ipA2.split('.').slice(0, 3)).not.toEqual(ipB1.split('.').slice(0, 3));
    // Connect from alice's first instance to the agent port of each other instance.
    const probe = (ip: string): string => [
      'import socket',
      'try:',
      `    socket.create_connection(("${ip}", 8888), timeout=3).close(); print("open")`,
      'except OSError as e:',
      '    print("blocked", type(e).__name__)'
    ].join('\n');
    expect((await runCode(gw.url, alice, a1.id, probe(ipA2))).out).toBe('open\n');
    expect((await runCode(gw.url, alice, a1.id, probe(ipB1))).out).toMatch(/^blocked /);
    // And the other way round.
    const ipA1 = await containerIp(TEST_PREFIX, a1.id);
    expect((await runCode(gw.url, bob, b1.id, probe(ipA1))).out).toMatch(/^blocked /);
    // The cloud metadata service is refused at once by the gateway's DOCKER-USER rule (without
    // it, the packet would leave through Docker's NAT; here it would time out).
    expect(execFileSync('iptables', ['-w', '5', '-C', ...metadataRule('10.213.0.0/16')]).length).toBe(0);
    expect((await runCode(gw.url, alice, a1.id, probe('169.254.169.254').replace('8888', '80'))).out).toBe('blocked ConnectionRefusedError\n');
  }, 240_000);
});
