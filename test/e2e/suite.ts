/**
 * The frame every browser suite shares: a gateway on the local-process runtime and one
 * browser for the file; a failing test leaves a screenshot and the tails of the browser's and
 * the gateway's logs in its error; afterwards every instance is stopped before the gateway.
 */
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startGatewayProcess, type GatewayProcess } from '../utils/gateway-process';
import { launchBrowser, type BrowserSession } from './browser';
import { stopAllInstances } from './cleanup';

export interface BrowserSuite {
  /** Set once the suite's `beforeAll` has run. */
  gw: GatewayProcess;
  b: BrowserSession;
}

/** Registers the hooks; read the fields from a later `beforeAll` or from the tests. */
export function useBrowserSuite(opts: { prepare?(gw: GatewayProcess): Promise<void> } = {}): BrowserSuite {
  const suite = {} as BrowserSuite;
  beforeAll(async () => {
    suite.gw = await startGatewayProcess({ NBG_RUNTIME: 'local' });
    await opts.prepare?.(suite.gw);
    suite.b = await launchBrowser(suite.gw.url);
  });
  afterEach(async ctx => {
    if (ctx.task.result?.state !== 'fail') return;
    const file = await suite.b?.screenshot(ctx.task.name);
    ctx.task.result.errors?.push({ message: `screenshot: ${file}\nbrowser log:\n${suite.b?.log.slice(-30).join('\n')}\ngateway log:\n${suite.gw?.output().slice(-3000)}` } as never);
  });
  afterAll(async () => {
    await suite.b?.dispose();
    try {
      if (suite.gw) await stopAllInstances(suite.gw);
    } finally {
      await suite.gw?.stop();
    }
  });
  return suite;
}
