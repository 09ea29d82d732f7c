/**
 * The console and the lab around the main flow: a signed-out lab link comes back to the lab
 * after sign-in; settings follow the user from one instance's lab to another's; another
 * user sees neither the instance nor its lab; stop and delete offer only what is allowed.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { GatewayProcess } from '../utils/gateway-process';
import { launchBrowser, type BrowserSession } from './browser';
import { ConsolePage } from './models/ConsolePage';
import { useBrowserSuite } from './suite';
import { LabPage } from './models/LabPage';

const PASSWORD = 'integration-admin-pw';

describe('console lifecycle and lab settings in a browser', () => {
  let gw: GatewayProcess;
  let b: BrowserSession;
  let c: ConsolePage;
  let first = '';
  let second = '';

  const suite = useBrowserSuite();
  beforeAll(() => {
    ({ gw, b } = suite);
    c = new ConsolePage(b.page, b.context);
  });

  it('should bring a signed-out lab link back to the lab after sign-in', async () => {
    await c.goto();
    await c.signIn('admin', PASSWORD);
    first = await c.createInstance({ name: 'first', image: 'python3.11-cpu-debian12' });
    await c.waitForState('RUNNING');
    await c.signOut();
    await b.page.goto(`/notebooks/${first}/lab`);
    await b.page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(new URL(b.page.url()).hash).toBe(`#/signin?next=${encodeURIComponent(`/notebooks/${first}/lab`)}`);
    await c.submitSignIn('admin', PASSWORD);
    const lab = new LabPage(b.page);
    await lab.waitReady();
    expect(new URL(b.page.url()).pathname).toMatch(new RegExp(`^/notebooks/${first}/lab`));
  });

  it('should keep a setting for the user across instances', async () => {
    const lab = new LabPage(b.page);
    await lab.chooseTheme('JupyterLab Dark');
    await c.goto('#/notebooks');
    second = await c.createInstance({ name: 'second', image: 'python3.11-cpu-debian12' });
    await c.waitForState('RUNNING');
    const other = await c.openLab('second');
    expect(await other.theme()).toBe('JupyterLab Dark');
    await other.chooseTheme('JupyterLab Light');
    await other.page.close();
  });

  it('should hide an instance and its lab from another user', async () => {
    const res = await gw.api('/api/v1/users', { method: 'POST', token: gw.adminToken, json: { name: 'bob', password: 'bob-password-123', role: 'user' } });
    expect(res.status).toBe(201);
    const bob = await launchBrowser(gw.url);
    try {
      const bc = new ConsolePage(bob.page, bob.context);
      await bc.goto();
      await bc.signIn('bob', 'bob-password-123');
      await bob.page.getByText('No instances yet.').waitFor();
      const lab = await bob.page.goto(`/notebooks/${first}/lab`);
      expect(lab?.status()).toBe(404);
      await bob.page.getByRole('heading', { name: 'Instance not found' }).waitFor();
    } finally {
      await bob.dispose();
    }
  });

  it('should show what the instance\'s kernel gateway wrote, when asked', async () => {
    await c.openInstance('second');
    await b.page.getByRole('button', { name: 'Show output' }).click();
    await expect.poll(() => b.page.getByLabel('Instance output').textContent(), { timeout: 10_000 }).toMatch(/listening/);
    await b.page.getByRole('button', { name: 'Refresh' }).waitFor();
  });

  it('should stop and delete an instance, offering only the allowed operations', async () => {
    await c.openInstance('second');
    await c.act('second', 'Stop');
    await c.waitForState('STOPPED');
    expect(await c.offeredActions('second')).toEqual(['Start', 'Delete']);
    await c.act('second', 'Delete');
    await c.goto('#/notebooks');
    await b.page.locator('tr[data-instance="first"]').waitFor();
    // Deleting may take a moment (DELETING); the list follows it until the row is gone.
    await expect.poll(() => b.page.locator('tr[data-instance="second"]').count(), { timeout: 60_000 }).toBe(0);
    expect((await gw.api(`/api/v1/notebooks/${second}`, { token: gw.adminToken })).status).toBe(404);
    // A lab link to a stopped instance says why it does not open.
    await c.openInstance('first');
    await c.act('first', 'Stop');
    await c.waitForState('STOPPED');
    const page = await b.page.goto(`/notebooks/${first}/lab`);
    expect(page?.status()).toBe(409);
    await b.page.getByRole('heading', { name: 'first is STOPPED' }).waitFor();
  });
});
