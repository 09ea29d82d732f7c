/**
 * The browser flow, in Debian's Chromium: sign in → create an instance in the console
 * → open JupyterLab → new notebook → run 6*7 → 42 → a terminal runs echo → Convert to Python
 * File (and the no-overwrite refusal) → submit as training job → SUCCEEDED in the console.
 * Screenshots of failures go to test-results/e2e/.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { GatewayProcess } from '../utils/gateway-process';
import type { BrowserSession } from './browser';
import { ConsolePage } from './models/ConsolePage';
import { useBrowserSuite } from './suite';
import type { LabPage } from './models/LabPage';

const PASSWORD = 'integration-admin-pw';

describe('console and JupyterLab in a browser', () => {
  let gw: GatewayProcess;
  let b: BrowserSession;
  let consolePage: ConsolePage;
  let lab: LabPage;
  let instanceId = '';
  let notebook = '';

  // The user's output bucket in the embedded object store (a directory per bucket).
  const suite = useBrowserSuite({ prepare: gw => mkdir(join(gw.dataDir, 'objects', 'nbg-e2e'), { recursive: true }).then(() => undefined) });
  beforeAll(() => {
    ({ gw, b } = suite);
    consolePage = new ConsolePage(b.page, b.context);
  });

  it('should sign in and validate the instance name as the user types', async () => {
    await consolePage.goto();
    await consolePage.signIn('admin', PASSWORD);
    await consolePage.openCreateForm();
    expect(await consolePage.typeName('my notebook!')).toContain('Not allowed: space, "!"');
    expect(await consolePage.typeName('a'.repeat(21))).toContain('21 characters; at most 20');
    expect(await consolePage.typeName('e2e-nb_1')).toBe('');
    await consolePage.chooseImage('python3.11-cpu-debian12');
    const flavors = await consolePage.flavorChoices();
    expect(flavors.length).toBeGreaterThan(0);
    expect(flavors.every(f => f.startsWith('cpu.'))).toBe(true);
  });

  it('should create an instance that reaches RUNNING and offer only the allowed operations', async () => {
    await consolePage.goto('#/notebooks');
    instanceId = await consolePage.createInstance({ name: 'e2e-nb', image: 'python3.11-cpu-debian12' });
    expect(instanceId).toMatch(/^[a-z][a-z0-9]{11}$/);
    await consolePage.waitForState('RUNNING');
    expect(await consolePage.offeredActions('e2e-nb')).toEqual(['Open JupyterLab', 'Stop']);
  });

  it('should open JupyterLab, run 6*7 in a new notebook and see 42', async () => {
    // Terminal text is read through xterm's screen-reader rows; the setting is per user and
    // kept by the gateway, like any JupyterLab setting.
    const put = await gw.api(`/notebooks/${instanceId}/lab/api/settings/@jupyterlab/terminal-extension:plugin`, {
      method: 'PUT', token: gw.adminToken, json: { raw: '{ "screenReaderMode": true }' }
    });
    expect(put.status).toBe(204);
    lab = await consolePage.openLab('e2e-nb');
    // Our Instance plug-in in the status bar.
    await expect.poll(() => lab.page.locator('.nbg-InstanceStatus').innerText()).toBe('e2e-nb · RUNNING');
    await lab.newNotebook();
    expect(await lab.runCell('6*7')).toBe('42');
    await lab.save('e2e-train.ipynb');
    await expect.poll(() => lab.notebookPath()).toBe('e2e-train.ipynb');
    notebook = await lab.notebookPath();
  });

  it('should run echo in a terminal', async () => {
    await lab.newTerminal();
    await lab.typeInTerminal('echo "nbg-e2e-$((6*7))"');
    await expect.poll(() => lab.terminalText(), { timeout: 20_000 }).toContain('nbg-e2e-42');
  });

  it('should convert the notebook to a Python file and refuse to overwrite it without the box', async () => {
    await lab.execute('docmanager:open', { path: notebook });
    await lab.page.locator('.jp-NotebookPanel:not(.lm-mod-hidden)').last().waitFor();
    expect(await lab.convertForceDefault()).toEqual({ label: 'Force overwrite if file already exists.', checked: false });
    const py = notebook.replace(/\.ipynb$/, '.py');
    expect(await lab.convert()).toEqual({ error: null });
    await expect.poll(() => lab.files(), { timeout: 10_000 }).toContain(py);
    const again = await lab.convert();
    expect(again.error).toBe(`${py} already exists next to the notebook. Choose another name, or tick "Force overwrite if file already exists."`);
    expect(await lab.convert({ force: true })).toEqual({ error: null });
    const res = await gw.api(`/notebooks/${instanceId}/api/contents/${encodeURIComponent(py)}?content=1`, { token: gw.adminToken });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { content: string }).content).toContain('6*7');
  });

  it('should submit the notebook as a training job and see it SUCCEEDED in the console', async () => {
    const jobsRoute = await gw.api('/api/v1/jobs', { token: gw.adminToken });
    await lab.execute('nbg:submit-training-job');
    const dialog = lab.page.locator('.jp-Dialog', { hasText: 'Submit as training job' });
    await dialog.waitFor();
    await expect.poll(async () => (await dialog.innerText()).includes('exist in the job only if it runs an image saved from this notebook')).toBe(true);
    await dialog.locator('input[name="nbg-job-name"]').fill('e2e-job');
    await dialog.locator('input[name="nbg-job-outputUrl"]').fill('s3://nbg-e2e/jobs/output/');
    await dialog.locator('.jp-Dialog-button.jp-mod-accept').click();
    if (jobsRoute.status === 404) {
      // Training jobs are not deployed on this gateway: the plug-in says so plainly.
      await lab.page.locator('.jp-Dialog-body', { hasText: 'Training jobs are not available on this gateway yet.' }).waitFor();
      return;
    }
    await lab.page.locator('.Toastify__toast').filter({ hasText: 'Training job e2e-job submitted (V0001)' }).first().waitFor();
    await consolePage.page.bringToFront();
    await consolePage.gotoJobs();
    await consolePage.waitForJobState('e2e-job', 'SUCCEEDED');
    // The version's log, as the job page shows it: the launcher's lines and the boot file's exit.
    await expect.poll(() => consolePage.jobLog('e2e-job'), { timeout: 20_000 }).toMatch(/nbg-job/);
  });

  it('should create a training job from staged code in the console and see it SUCCEEDED', async () => {
    const jobs = (await (await gw.api('/api/v1/jobs', { token: gw.adminToken })).json()) as { items: { name: string; version: { codeUrl: string; bootFile: string } | null }[] };
    const staged = jobs.items.find(j => j.name === 'e2e-job')!.version!;
    await consolePage.gotoJobs();
    await consolePage.createJob({ name: 'from-console', codeUrl: staged.codeUrl, bootFile: staged.bootFile.split('/').pop()!, outputUrl: 's3://nbg-e2e/console/', parameters: 'epochs=1' });
    await consolePage.waitForVersionState('V0001', 'SUCCEEDED');
  });

  it('should show CSV, Markdown and image files and run code in a console', async () => {
    const put = (path: string, body: unknown): Promise<Response> =>
      gw.api(`/notebooks/${instanceId}/api/contents/${path}`, { method: 'PUT', token: gw.adminToken, json: body });
    expect((await put('data.csv', { type: 'file', format: 'text', content: 'name,value\nalpha,1\nbeta,2\n' })).status).toBe(201);
    expect((await put('notes.md', { type: 'file', format: 'text', content: '# Results\n\nThe answer is **42**.\n' })).status).toBe(201);
    // A 1×1 PNG.
    const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
    expect((await put('dot.png', { type: 'file', format: 'base64', content: png })).status).toBe(201);
    await lab.execute('docmanager:open', { path: 'data.csv' });
    await lab.page.locator('.jp-CSVViewer:not(.lm-mod-hidden)').waitFor();
    await lab.execute('docmanager:open', { path: 'notes.md', factory: 'Markdown Preview' });
    await lab.page.locator('.jp-RenderedMarkdown h1', { hasText: 'Results' }).waitFor();
    await lab.execute('docmanager:open', { path: 'dot.png' });
    await lab.page.locator('.jp-ImageViewer img').waitFor({ state: 'attached' });
    await lab.execute('console:create', { kernelPreference: { name: 'python3' } });
    const prompt = lab.page.locator('.jp-CodeConsole:not(.lm-mod-hidden) .jp-CodeConsole-promptCell .cm-content');
    await prompt.waitFor();
    await expect.poll(() => lab.page.locator('.jp-CodeConsole:not(.lm-mod-hidden) .jp-CodeConsole-banner').count(), { timeout: 30_000 }).toBeGreaterThan(0);
    await prompt.click();
    await lab.page.keyboard.type('sum(range(10))');
    await lab.page.keyboard.press('Shift+Enter');
    await lab.page.locator('.jp-CodeConsole:not(.lm-mod-hidden) .jp-OutputArea-output', { hasText: '45' }).waitFor({ timeout: 30_000 });
  });
});
