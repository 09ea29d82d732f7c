/**
 * Who gets in over SSH, and what they are told when they do not (issue 6, SPEC §7, §9): only
 * the owner's keys open the owner's instance, an address outside the allow-list is refused
 * before any key, a STOPPED instance or SSH turned off gets a clear message instead of a hang,
 * live connections follow key deletion, settings and instance stops, the audit trail has the
 * connect and disconnect, and an SSH command keeps the instance from idle auto-stop.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { NotebookInstance, Page } from '../../server/src/api/types';
import type { AuditRecord } from '../../server/src/audit/audit';
import { startGatewayProcess, waitFor, type GatewayProcess } from '../utils/gateway-process';
import { runTool, ssh, sshInstance, sshProcess, sshUser, SshScratch, stopInstance, waitForOutput, type SshTarget, type SshUser } from './ssh-helpers';

describe('SSH access', () => {
  let gw: GatewayProcess;
  let scratch: SshScratch;
  let alice: SshUser;
  let bob: SshUser;
  let target: SshTarget;
  const started: [SshUser, string][] = [];

  beforeAll(async () => {
    // Leases checked every 300 ms and IDLE allowed down to 3 s, for the auto-stop test.
    gw = await startGatewayProcess({ NBG_LEASE_IDLE_MIN_MINUTES: '0.05', NBG_LEASE_CHECK_INTERVAL_MS: '300' });
    scratch = await SshScratch.create();
    alice = await sshUser(gw, scratch, 'alice');
    bob = await sshUser(gw, scratch, 'bob');
    target = await sshInstance(gw, alice, 'dev');
    started.push([alice, target.id]);
  });

  afterAll(async () => {
    for (const [u, id] of started) await stopInstance(gw, u.token, id).catch(() => undefined);
    await gw?.stop();
    await scratch?.dispose();
  });

  const put = (id: string, token: string, json: unknown): Promise<Response> => gw.api(`/api/v1/notebooks/${id}/ssh`, { method: 'PUT', token, json });

  it('should refuse another user\'s key, also under the owner\'s login name', async () => {
    // Bob's key, Alice's login: Bob's key is not one of Alice's.
    const asAlice = await ssh(scratch, bob, target, ['true']);
    expect(asAlice.code).toBe(255);
    expect(asAlice.stderr).toContain('Permission denied (publickey)');
    // Bob's own login naming Alice's instance: Bob has no such instance.
    const asBob = await ssh(scratch, bob, { port: target.port, login: `bob+${target.id}@127.0.0.1` }, ['true']);
    expect(asBob.code).toBe(255);
    expect(asBob.stderr).toContain('you have no instance');
    // The owner gets in, by instance name and by id.
    expect((await ssh(scratch, alice, target, ['echo in'])).stdout).toBe('in\n');
    expect((await ssh(scratch, alice, { port: target.port, login: `alice+${target.id}@127.0.0.1` }, ['echo by-id'])).stdout).toBe('by-id\n');
  });

  it('should refuse a login name that does not name an instance, saying how to name one', async () => {
    const r = await ssh(scratch, alice, { port: target.port, login: 'alice@127.0.0.1' }, ['true']);
    expect(r.code).toBe(255);
    expect(r.stderr).toContain('log in as <user>+<instance>');
  });

  it('should refuse an address outside the allow-list before any key is tried', async () => {
    expect((await put(target.id, alice.token, { allowCidrs: ['127.0.0.1/32'] })).status).toBe(200);
    // 127.0.0.2 is loopback too, but not in 127.0.0.1/32.
    const runFrom = (address: string): ReturnType<typeof runTool> =>
      runTool('ssh', ['-b', address, '-p', String(target.port), ...scratch.clientOptions(alice.identity), target.login, 'true']);
    const refused = await runFrom('127.0.0.2');
    expect(refused.code).toBe(255);
    expect(refused.stderr).toContain('connections from 127.0.0.2 to this instance are not allowed by its IP allow-list');
    expect(refused.stderr).not.toContain('Permission denied');
    expect((await ssh(scratch, alice, target, ['echo allowed'])).stdout).toBe('allowed\n');
    // A refused attempt lands in the owner's trail without naming anyone as the actor.
    const trail = await audit(`action=openNotebook&resourceId=${target.id}&result=failure`);
    expect(trail.find(r => r.details?.code === 'NB_ERR_SSH_ADDRESS_REFUSED')).toMatchObject({ sourceIp: '127.0.0.2', actor: { id: null } });
    expect((await put(target.id, alice.token, { allowCidrs: [] })).status).toBe(200);
    expect((await runFrom('127.0.0.2')).code).toBe(0);
  });

  it('should disconnect live sessions that a narrowed allow-list or SSH turned off no longer allows', async () => {
    const live = sshProcess(scratch, alice, target, ['-T']);
    live.stdin!.write('echo ready; sleep 60\n');
    await waitForOutput(live, /ready/);
    const closed = new Promise<string>(resolve => {
      let err = '';
      live.stderr!.on('data', d => (err += d));
      live.once('exit', () => resolve(err));
    });
    expect((await put(target.id, alice.token, { allowCidrs: ['10.0.0.0/8'] })).status).toBe(200);
    expect(await closed).toContain('not allowed by its IP allow-list');
    expect((await put(target.id, alice.token, { allowCidrs: [], enabled: false })).status).toBe(200);
    const off = await ssh(scratch, alice, target, ['true']);
    expect(off.code).toBe(255);
    expect(off.stderr).toContain('SSH is turned off for instance "dev"');
    expect((await put(target.id, alice.token, { enabled: true })).status).toBe(200);
  });

  it('should drop the connections of a deleted key', async () => {
    const carol = await sshUser(gw, scratch, 'carol');
    const inst = await sshInstance(gw, carol, 'c1');
    started.push([carol, inst.id]);
    const live = sshProcess(scratch, carol, inst, ['-T']);
    live.stdin!.write('echo ready; sleep 60\n');
    await waitForOutput(live, /ready/);
    const closed = new Promise<string>(resolve => {
      let err = '';
      live.stderr!.on('data', d => (err += d));
      live.once('exit', () => resolve(err));
    });
    expect((await gw.api(`/api/v1/ssh/keys/${carol.keyId}`, { method: 'DELETE', token: carol.token })).status).toBe(204);
    expect(await closed).toContain('the key "test" was deleted');
    expect((await ssh(scratch, carol, inst, ['true'])).stderr).toContain('Permission denied (publickey)');
  });

  it('should tell a client why a STOPPED instance cannot be opened, and disconnect on stop', async () => {
    const other = await sshInstance(gw, alice, 'stopper');
    started.push([alice, other.id]);
    const live = sshProcess(scratch, alice, other, ['-T']);
    live.stdin!.write('echo ready; sleep 60\n');
    await waitForOutput(live, /ready/);
    const closed = new Promise<string>(resolve => {
      let err = '';
      live.stderr!.on('data', d => (err += d));
      live.once('exit', () => resolve(err));
    });
    await stopInstance(gw, alice.token, other.id);
    expect(await closed).toMatch(/instance "stopper" is (STOPPING|STOPPED)|connection to the instance was lost/);
    const began = Date.now();
    const r = await ssh(scratch, alice, other, ['true']);
    expect(Date.now() - began).toBeLessThan(10_000);
    expect(r.code).toBe(255);
    expect(r.stderr).toContain('Cannot open instance "stopper" while it is STOPPED; start it first');
  });

  it('should not expose the agent\'s SSH channel endpoints through the HTTP proxy, in any spelling', async () => {
    for (const path of ['api/nbg/ssh/session', 'api//nbg/ssh/tcp?host=localhost&port=22', 'api/nbg/%73sh/session', 'api/nbg/SSH/session']) {
      const res = await gw.api(`/notebooks/${target.id}/${path}`, { token: alice.token });
      expect(res.status, path).toBe(404);
      const status = await new Promise<number>(resolve => {
        const ws = new WebSocket(`${gw.url.replace(/^http/, 'ws')}/notebooks/${target.id}/${path}`, { headers: { Authorization: `Bearer ${alice.token}` } });
        ws.once('unexpected-response', (_req, r) => resolve(r.statusCode ?? 0));
        ws.once('open', () => {
          ws.close();
          resolve(101);
        });
        ws.once('error', () => undefined);
      });
      expect(status, path).toBe(404);
    }
    // The rest of the agent stays reachable for its owner.
    expect((await gw.api(`/notebooks/${target.id}/api/status`, { token: alice.token })).status).toBe(200);
  });

  it('should audit connect and disconnect with the key and the address', async () => {
    await ssh(scratch, alice, target, ['true']);
    const records = await waitFor(async () => {
      const items = await audit(`resourceId=${target.id}`);
      const connect = items.find(r => r.action === 'openNotebook' && r.details?.via === 'ssh' && r.result === 'success');
      const disconnect = items.find(r => r.action === 'disconnectNotebook');
      return connect && disconnect ? { connect, disconnect } : undefined;
    }, 'ssh audit records');
    expect(records.connect).toMatchObject({ actor: { name: 'alice' }, sourceIp: '127.0.0.1', resource: { type: 'notebook', id: target.id, name: 'dev' } });
    expect(records.connect.details).toMatchObject({ via: 'ssh', login: 'alice+dev', key: expect.stringMatching(/^SHA256:/) });
    expect(records.disconnect.details).toMatchObject({ via: 'ssh', durationMs: expect.any(Number) });
  });

  it('should keep an instance with a running SSH command from idle auto-stop, and let it stop after', async () => {
    const idle = await sshInstance(gw, alice, 'idler', 'python3.11-cpu-debian12', { autoStop: { idleMinutes: 0.05 } });
    started.push([alice, idle.id]);
    // A silent command for longer than the 3 s IDLE timeout: busy, like a silent kernel.
    const r = await ssh(scratch, alice, idle, ['sleep 7; echo done'], { timeoutMs: 30_000 });
    expect(r.stdout).toBe('done\n');
    expect(await status(idle.id)).toBe('RUNNING');
    await waitFor(async () => (await status(idle.id)) === 'STOPPED', 'the idle stop', 30_000, 200);
  });

  async function status(id: string): Promise<string> {
    return ((await (await gw.api(`/api/v1/notebooks/${id}`, { token: alice.token })).json()) as NotebookInstance).status;
  }

  async function audit(query: string): Promise<AuditRecord[]> {
    return ((await (await gw.api(`/api/v1/audit?${query}`, { token: gw.adminToken })).json()) as Page<AuditRecord>).items;
  }
});
