/**
 * The driver contract against the in-process drivers: the fake (instant) and the
 * local-process runtime (a real kernel-gateway process per instance). The Docker driver runs
 * the same suite in test/integration/docker-driver.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadCatalogue } from '../../src/catalogue/images';
import { FakeDriver } from '../../src/drivers/fake/fake-driver';
import { LocalProcessDriver } from '../../src/drivers/local/local-process-driver';
import { createLogger } from '../../src/logger';
import { describeDriverContract } from './driver-contract';

const ROOT = resolve(__dirname, '..', '..', '..');
const image = loadCatalogue(join(ROOT, 'images', 'catalogue.json')).find(i => i.name === 'python3.11-cpu-debian12')!;

describeDriverContract('FakeDriver', async () => {
  const driver = new FakeDriver();
  return {
    driver,
    realAgent: false,
    kill: async (_state, spec) => driver.kill(spec.id),
    dispose: async () => undefined
  };
}, image);

describeDriverContract('LocalProcessDriver', async () => {
  // The agent bundle the driver runs (skipped when the sources are unchanged).
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), 'kernel-gateway'], { stdio: 'ignore' });
  const dataDir = await mkdtemp(join(tmpdir(), 'nbg-contract-'));
  const driver = new LocalProcessDriver({
    dataDir, kernelGatewayDir: join(ROOT, 'kernel-gateway', 'dist'), stopTimeoutMs: 3_000, log: createLogger('silent')
  });
  return {
    driver,
    realAgent: true,
    kill: async state => {
      process.kill(-(state.pid as number), 'SIGKILL');
    },
    dispose: () => rm(dataDir, { recursive: true, force: true })
  };
}, image);
