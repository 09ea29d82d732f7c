/**
 * Picks the runtime driver once, at wiring time (STYLE.md §8): call sites never branch on it.
 */
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { IRuntimeDriver } from './driver';
import { LocalProcessDriver } from './local/local-process-driver';

export async function selectDriver(config: Config, log: Logger): Promise<IRuntimeDriver> {
  const local = (): IRuntimeDriver =>
    new LocalProcessDriver({
      dataDir: config.dataDir,
      kernelGatewayDir: config.kernelGatewayDir,
      stopTimeoutMs: config.stopTimeoutMs,
      log: log.child({ driver: 'local' })
    });
  switch (config.runtime) {
    case 'local':
      return local();
    case 'docker':
    case 'auto': {
      const docker = await loadDockerDriver(config, log);
      if (docker) return docker;
      if (config.runtime === 'docker') throw new Error('runtime "docker" was asked for, but dockerd does not answer on /var/run/docker.sock');
      log.info('dockerd is not available: using the local-process runtime');
      return local();
    }
  }
}

/** The Docker driver when dockerd answers, else null. */
async function loadDockerDriver(config: Config, log: Logger): Promise<IRuntimeDriver | null> {
  const mod = await import('./docker/docker-driver').catch(() => null);
  if (!mod) return null;
  return mod.createDockerDriverIfAvailable(config, log.child({ driver: 'docker' }));
}
