/**
 * Our JupyterLab plug-ins on an `obs` instance: Sync OBS shows the plan against the limits
 * before copying, copies, and is refused before any copy when a limit would be passed.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { GatewayProcess } from '../utils/gateway-process';
import type { BrowserSession } from './browser';
import { ConsolePage } from './models/ConsolePage';
import { useBrowserSuite } from './suite';
import type { LabPage } from './models/LabPage';

describe('JupyterLab plug-ins on an OBS instance', () => {
  let gw: GatewayProcess;
  let b: BrowserSession;
  let lab: LabPage;
  let id = '';

  const suite = useBrowserSuite();
  beforeAll(() => {
    ({ gw, b } = suite);
  });

  const put = (path: string, content: string): Promise<Response> =>
    gw.api(`/notebooks/${id}/api/contents/${path}`, { method: 'PUT', token: gw.adminToken, json: { type: 'file', format: 'text', content } });

  it('should open the lab of an instance created with object storage', async () => {
    const c = new ConsolePage(b.page, b.context);
    await c.goto();
    await c.signIn('admin', 'integration-admin-pw');
    await c.openCreateForm();
    await c.typeName('obs-nb');
    await b.page.getByLabel(/Object storage \(OBS\)/).check();
    await b.page.getByLabel('Stop at a set time').check();
    await b.page.getByLabel('Stop after (hours)').fill('4');
    expect(await b.page.getByLabel('Volume size (GB)').isVisible()).toBe(false);
    await b.page.getByRole('button', { name: 'Create and start' }).click();
    await b.page.getByRole('heading', { name: 'obs-nb', exact: true }).waitFor();
    id = new URL(b.page.url()).hash.split('/').pop()!;
    await c.waitForState('RUNNING');
    lab = await c.openLab('obs-nb');
  });

  it('should show the plan and the limits, then sync the selected objects into ~/work', async () => {
    expect((await put('a.csv', 'x,y\n1,2\n')).status).toBe(201);
    expect((await put('b.txt', 'hello\n')).status).toBe(201);
    const { plan } = await lab.syncObs(['a.csv', 'b.txt']);
    expect(plan).toContain('Copy 2 files');
    expect(plan).toContain('of 2 selected items into ~/work');
    expect(plan).toContain('Limits: at most 1024 files per sync; ~/work at most 500 MB afterwards.');
    expect(await lab.notification(/Synced 2 files/)).toContain('Synced 2 files');
    // Unchanged files are skipped the second time.
    const again = await lab.syncObs(['a.csv'], false);
    expect(again.plan).toContain('1 unchanged skipped');
  });

  it('should refuse a sync over 1024 files before copying anything, with the numbers', async () => {
    const dir = await gw.api(`/notebooks/${id}/api/contents/many`, { method: 'PUT', token: gw.adminToken, json: { type: 'directory' } });
    expect(dir.status).toBe(201);
    for (let i = 0; i < 1025; i += 25) {
      await Promise.all(Array.from({ length: Math.min(25, 1025 - i) }, (_, k) => put(`many/f${i + k}.txt`, 'x')));
    }
    const { refusal } = await lab.syncObs(['many']);
    expect(refusal).toMatch(/1025/);
    expect(refusal).toMatch(/1024/);
  });

  it('should show the lease in the status bar, renew it and stop the instance from the Instance panel', async () => {
    await expect.poll(() => lab.page.locator('.nbg-InstanceStatus').innerText()).toMatch(/^obs-nb · RUNNING · stops in 3h 5\dm$/);
    await lab.page.locator('.nbg-InstanceStatus').click();
    const panel = lab.page.getByRole('region', { name: 'Instance' });
    await panel.getByRole('button', { name: 'Renew lease' }).click();
    await lab.notification(/Lease renewed/);
    await panel.getByRole('button', { name: 'Stop instance' }).click();
    await lab.page.locator('.jp-Dialog').getByRole('button', { name: 'Stop' }).click();
    await expect.poll(async () => ((await (await gw.api(`/api/v1/notebooks/${id}`, { token: gw.adminToken })).json()) as { status: string }).status, { timeout: 60_000 }).toBe('STOPPED');
  });
});
