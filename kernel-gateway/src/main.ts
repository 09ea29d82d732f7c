/**
 * Entry point: parse config, start, and shut down in one ordered path on SIGTERM/SIGINT
 * (STYLE.md §18): stop accepting, stop kernels (with a deadline), exit.
 */
import { loadConfig, helpText } from './config';
import { createLogger } from './logger';
import { createApp } from './app';

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    process.stdout.write(helpText() + '\n');
    return;
  }
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`nbg-kernel-gateway: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const log = createLogger(config.logLevel);
  let app;
  try {
    app = createApp(config, log);
  } catch (err) {
    process.stderr.write(`nbg-kernel-gateway: ${(err as Error).message}\n`);
    process.exit(2);
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    const deadline = setTimeout(() => {
      log.error('shutdown deadline passed; exiting');
      process.exit(1);
    }, config.kernelShutdownGraceMs + 5_000);
    deadline.unref();
    void app.dispose().then(
      () => process.exit(0),
      err => {
        log.error('shutdown failed', { err });
        process.exit(1);
      }
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  try {
    await app.listen();
  } catch (err) {
    log.error('cannot listen', { err });
    await app.dispose();
    process.exit(1);
  }
}

void main();
