/**
 * The Docker runtime driver (arrives with the engine images; see issue 4). Until then the
 * gateway reports that Docker is not available and uses the local-process runtime.
 */
import type { Config } from '../../config';
import type { Logger } from '../../logger';
import type { IRuntimeDriver } from '../driver';

export async function createDockerDriverIfAvailable(_config: Config, _log: Logger): Promise<IRuntimeDriver | null> {
  return null;
}
