/**
 * The runtime-driver contract (STYLE.md §26), run against every implementation: the fake
 * driver and the local-process driver in the server suite, the Docker driver in the
 * integration suite. What the manager relies on is written here once.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_FLAVORS } from '../../src/catalogue/flavors';
import type { ImageEntry } from '../../src/catalogue/images';
import type { DriverState, IRuntimeDriver, InstanceSpec, ProgressEvent } from '../../src/drivers/driver';

export interface DriverHarness {
  driver: IRuntimeDriver;
  /** Kills the instance behind the driver's back (a crash, `docker kill`). */
  kill(state: DriverState, spec: InstanceSpec): Promise<void>;
  /** True when the endpoint is a real agent that answers `GET <base>api`. */
  realAgent: boolean;
  /** Removes whatever the harness created (the driver is disposed by the suite). */
  dispose(): Promise<void>;
}

let counter = 0;

/** A spec with a fresh id; the image is the smallest CPU preset. */
export function contractSpec(image: ImageEntry, overrides: Partial<InstanceSpec> = {}): InstanceSpec {
  const id = `c${process.pid.toString(36)}${(counter++).toString(36)}${Math.random().toString(36).slice(2, 6)}`.slice(0, 12);
  return {
    id,
    name: `contract-${counter}`,
    owner: { id: `owner-${process.pid}`, name: 'contract' },
    image,
    flavor: DEFAULT_FLAVORS.find(f => f.id === 'cpu.2u8g')!,
    storage: { type: 'local', sizeGB: 5 },
    baseUrl: `/notebooks/${id}/`,
    agentToken: `token-${id}`,
    env: {},
    ...overrides
  };
}

async function agentAnswers(spec: InstanceSpec, endpoint: { host: string; port: number }): Promise<number> {
  const res = await fetch(`http://${endpoint.host}:${endpoint.port}${spec.baseUrl}api`, { headers: { Authorization: `token ${spec.agentToken}` } });
  return res.status;
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 100));
  }
}

/**
 * Registers the contract tests for one driver.
 * @param make - builds a fresh harness per test.
 * @param image - the image entry specs use.
 */
export function describeDriverContract(name: string, make: () => Promise<DriverHarness>, image: ImageEntry, opts: { timeoutMs?: number } = {}): void {
  const timeout = opts.timeoutMs ?? 30_000;

  async function withHarness(fn: (h: DriverHarness) => Promise<void>): Promise<void> {
    const h = await make();
    try {
      await fn(h);
    } finally {
      await h.driver.dispose();
      await h.driver.dispose(); // idempotent
      await h.dispose();
    }
  }

  describe(`IRuntimeDriver contract: ${name}`, () => {
    it('should start, poll running, stop, poll stopped, and stop again', () => withHarness(async h => {
      const spec = contractSpec(image);
      const events: ProgressEvent[] = [];
      const { endpoint, state } = await h.driver.start(spec, null, { signal: AbortSignal.timeout(timeout), onProgress: e => events.push(e) });
      expect(events.at(-1)).toMatchObject({ step: 'ready', progress: 100 });
      expect(events.map(e => e.progress)).toEqual([...events.map(e => e.progress)].sort((a, b) => a - b));
      if (h.realAgent) expect(await agentAnswers(spec, endpoint)).toBe(200);
      expect(await h.driver.poll(state)).toEqual({ running: true, endpoint });
      await h.driver.stop(state);
      const stopped = await h.driver.poll(state);
      expect(stopped.running).toBe(false);
      await h.driver.stop(state); // idempotent
      await h.driver.remove(state, spec);
      await h.driver.remove(state, spec); // idempotent
      await h.driver.purgeStorage(spec);
      await h.driver.purgeStorage(spec);
    }), timeout * 2);

    it('should start again after a stop, from the previous state', () => withHarness(async h => {
      const spec = contractSpec(image);
      const first = await h.driver.start(spec, null, { signal: AbortSignal.timeout(timeout) });
      await h.driver.stop(first.state);
      const second = await h.driver.start(spec, first.state, { signal: AbortSignal.timeout(timeout) });
      expect((await h.driver.poll(second.state)).running).toBe(true);
      if (h.realAgent) expect(await agentAnswers(spec, second.endpoint)).toBe(200);
      await h.driver.stop(second.state, { now: true });
      await h.driver.remove(second.state, spec);
      await h.driver.purgeStorage(spec);
    }), timeout * 3);

    it('should tell watchers and poll when an instance dies outside the gateway', () => withHarness(async h => {
      const spec = contractSpec(image);
      const seen: string[] = [];
      const unwatch = h.driver.watch?.(id => seen.push(id));
      const { state } = await h.driver.start(spec, null, { signal: AbortSignal.timeout(timeout) });
      await h.kill(state, spec);
      if (unwatch) await until('the watcher to report the death', async () => seen.includes(spec.id), 10_000);
      unwatch?.();
      await until('poll to report not running', async () => !(await h.driver.poll(state)).running, 10_000);
      const status = await h.driver.poll(state);
      expect(status.running).toBe(false);
      if (!status.running) expect(status.reason).toBeTruthy();
      await h.driver.remove(state, spec);
      await h.driver.purgeStorage(spec);
    }), timeout * 2);

    it('should treat remove and purge of an instance it never ran as done, and foreign state as not running', () => withHarness(async h => {
      const spec = contractSpec(image);
      await h.driver.remove(null, spec);
      await h.driver.purgeStorage(spec);
      const foreign = await h.driver.poll({ v: 99, kind: 'another-runtime' });
      expect(foreign.running).toBe(false);
    }));
  });
}
