/**
 * Starts an in-process kernel gateway on port 0 with a temporary root, for tests.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { ServerConnection } from '@jupyterlab/services';
import { createApp, type App } from '../../src/app';
import { defaults, type Config } from '../../src/config';
import { createLogger } from '../../src/logger';

export interface TestGateway {
  app: App;
  config: Config;
  url: string;
  token: string;
  rootDir: string;
  logs: string[];
  settings: ServerConnection.ISettings;
  dispose(): Promise<void>;
}

export async function startGateway(overrides: Partial<Config> = {}): Promise<TestGateway> {
  const rootDir = await mkdtemp(join(tmpdir(), 'nbkg-root-'));
  const runtimeDir = await mkdtemp(join(tmpdir(), 'nbkg-rt-'));
  const token = 'test-token-' + Math.random().toString(36).slice(2);
  const config: Config = Object.freeze({
    ...defaults(),
    port: 0,
    rootDir,
    runtimeDir,
    token,
    kernelShutdownGraceMs: 1_000,
    // A spare is one more Python start per gateway on a 2-core CI machine: tests opt in.
    kernelPrespawn: 0,
    ...overrides
  });
  const logs: string[] = [];
  const app = createApp(config, createLogger('debug', line => logs.push(line)));
  const port = await app.listen();
  const url = `http://127.0.0.1:${port}${config.baseUrl}`;
  const settings = ServerConnection.makeSettings({
    baseUrl: url,
    wsUrl: url.replace(/^http/, 'ws'),
    token,
    appendToken: true,
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket
  });
  return {
    app, config, url, token, rootDir, logs, settings,
    async dispose() {
      await app.dispose();
      await rm(rootDir, { recursive: true, force: true });
      await rm(runtimeDir, { recursive: true, force: true });
    }
  };
}
