/**
 * Entry point: load config, create the app, listen, print where to sign in; on SIGTERM or
 * SIGINT stop accepting and dispose with a deadline (STYLE.md §18). Instances keep running.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig, helpText, type Config } from './config';
import { createLogger } from './logger';
import { createApp } from './app';
import { INITIAL_PASSWORD_FILE } from './auth/bootstrap';

/** The installation root: the repository (server/dist/main.cjs → ../..). */
const INSTALL_ROOT = resolve(__dirname, '..', '..');

function version(): string {
  try {
    return (JSON.parse(readFileSync(join(INSTALL_ROOT, 'server', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    process.stdout.write(helpText() + '\n');
    return;
  }
  let config: Config;
  try {
    config = loadConfig(INSTALL_ROOT);
  } catch (err) {
    process.stderr.write(`nbgateway: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const log = createLogger(config.logLevel);
  const app = await createApp(config, { log, version: version() }).catch(err => {
    log.fatal({ err }, 'cannot start');
    process.exit(1);
  });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down (instances keep running)');
    setTimeout(() => {
      log.error('shutdown deadline passed; exiting');
      process.exit(1);
    }, 20_000).unref();
    void app.dispose().then(() => process.exit(0), err => {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  const { url } = await app.listen();
  const passwordFile = join(config.dataDir, INITIAL_PASSWORD_FILE);
  let login: string;
  if (config.adminPassword) {
    login = `user "${config.adminUser}" with the password in NBG_ADMIN_PASSWORD`;
  } else if (app.initialPasswordFile) {
    // First start only, like Jenkins: show the generated password once; it is also in the file.
    const password = readFileSync(app.initialPasswordFile, 'utf8').trim();
    login = `user "${config.adminUser}", password "${password}" (also in ${passwordFile}; change it after signing in)`;
  } else {
    login = `user "${config.adminUser}", initial password in ${passwordFile}`;
  }
  const ssh = app.ssh.endpoint();
  const sshLine = ssh ? `  ssh:     ssh -p ${ssh.port} <user>+<instance>@${ssh.host}   (host key ${ssh.hostKey.fingerprint})\n` : '';
  process.stdout.write(`\nnbgateway is up at ${url}\n  sign in: ${login}\n  runtime: ${app.instances.driver.kind}\n${sshLine}  health:  ${url}/api/v1/health\n\n`);
}

void main();
