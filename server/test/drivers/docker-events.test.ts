/**
 * ContainerWatcher's list-then-watch cache against a scripted events stream: what it applies,
 * whom it tells, and how it recovers when the stream drops (the real dockerd path runs in
 * test/integration/docker-*.test.ts; dropping dockerd's stream on purpose is not possible there).
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import { ContainerWatcher } from '../../src/drivers/docker/docker-events';
import { createLogger } from '../../src/logger';

class ScriptedDocker {
  streams: PassThrough[] = [];
  sinceAsked: Array<number | undefined> = [];
  containers: Array<{ Id: string; State: string; Labels: Record<string, string> }> = [];
  async getEvents(opts: { since?: number }): Promise<PassThrough> {
    this.sinceAsked.push(opts.since);
    const s = new PassThrough();
    this.streams.push(s);
    return s;
  }
  async listContainers(): Promise<ScriptedDocker['containers']> {
    return this.containers;
  }
  emit(action: string, id: string, instance: string, extra: Record<string, string> = {}, time = 1_700_000_000): void {
    const ev = { Type: 'container', Action: action, time, Actor: { ID: id, Attributes: { 'nbgateway.instance': instance, ...extra } } };
    // Split across chunks, as a socket may deliver it.
    const line = JSON.stringify(ev) + '\n';
    this.streams.at(-1)!.write(line.slice(0, 10));
    this.streams.at(-1)!.write(line.slice(10));
  }
}

const until = async (fn: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !fn(); i++) await new Promise(r => setTimeout(r, 10));
  expect(fn()).toBe(true);
};

describe('ContainerWatcher', () => {
  it('should list, then apply start/die/destroy events and tell listeners about deaths', async () => {
    const docker = new ScriptedDocker();
    docker.containers = [{ Id: 'c1', State: 'running', Labels: { 'nbgateway.instance': 'i1' } }];
    const w = new ContainerWatcher(docker as unknown as Docker, { labels: ['nbgateway.managed-by=nbg-'], log: createLogger('silent') });
    await w.start();
    expect(w.synced).toBe(true);
    expect(w.get('c1')).toMatchObject({ running: true, instanceId: 'i1' });
    const died: string[] = [];
    w.onExit(id => died.push(id));
    docker.emit('start', 'c2', 'i2');
    await until(() => w.get('c2')?.running === true);
    docker.emit('oom', 'c2', 'i2');
    docker.emit('die', 'c2', 'i2', { exitCode: '137' });
    await until(() => died.includes('i2'));
    expect(w.get('c2')).toMatchObject({ running: false, exitCode: 137, oomKilled: true });
    docker.emit('destroy', 'c1', 'i1');
    await until(() => died.includes('i1'));
    expect(w.get('c1')).toBeUndefined();
    w.dispose();
    w.dispose();
  });

  it('should reconnect after the stream ends, resuming from the last event, and re-list', async () => {
    const docker = new ScriptedDocker();
    const w = new ContainerWatcher(docker as unknown as Docker, { labels: [], log: createLogger('silent') });
    await w.start();
    docker.emit('start', 'c1', 'i1', {}, 1_700_000_123);
    await until(() => w.get('c1')?.running === true);
    // While disconnected the container dies; the new list shows it exited.
    docker.containers = [{ Id: 'c1', State: 'exited', Labels: { 'nbgateway.instance': 'i1' } }];
    docker.streams[0]!.end();
    await until(() => docker.streams.length === 2 && w.synced);
    expect(docker.sinceAsked[1]).toBeGreaterThanOrEqual(1_700_000_123);
    expect(w.get('c1')).toMatchObject({ running: false });
    w.dispose();
  });
});
